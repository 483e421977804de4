// A widget request's X-Auth-Token as Kommo's $authorizedAjax makes it: HS256 with the integration's
// secret key, for our origin, 30 minutes.
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";

export type WidgetTokenInput = {
  accountId: number;
  userId: number;
  subdomain: string;
  isAdmin?: boolean;
  clientId?: string;
  secret?: string;
  audience?: string;
  expiresInSeconds?: number;
};

export function widgetToken(input: WidgetTokenInput): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    account_id: input.accountId,
    user_id: input.userId,
    subdomain: input.subdomain,
    client_uuid: input.clientId ?? process.env.KOMMO_CLIENT_ID!,
    ...(input.isAdmin !== undefined && { is_admin: input.isAdmin }),
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(`https://${input.subdomain}.kommo.com`)
    .setAudience(input.audience ?? new URL(process.env.APP_URL!).origin)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (input.expiresInSeconds ?? 1800))
    .sign(new TextEncoder().encode(input.secret ?? process.env.KOMMO_CLIENT_SECRET!));
}
