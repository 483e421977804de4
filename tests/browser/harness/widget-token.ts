// The one-time token Kommo's `$authorizedAjax` attaches as X-Auth-Token: a JWT signed HS256 with
// the integration's secret key, for the backend's origin, valid 30 minutes (Kommo's documented
// claims). Tests sign their own, and forge bad ones on purpose.
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";

export type WidgetTokenInput = {
  clientId: string;
  clientSecret: string;
  /** The backend's origin (the `aud` Kommo derives from the integration's redirect URI). */
  audience: string;
  accountId: number;
  subdomain: string;
  userId: number;
  isAdmin?: boolean;
  /** Seconds from now; negative for an expired token. Default 1800 (Kommo's 30 minutes). */
  expiresInSeconds?: number;
};

export async function signWidgetToken(input: WidgetTokenInput): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const lifetime = input.expiresInSeconds ?? 1800;
  const issuedAt = lifetime > 0 ? now : now + lifetime - 1800;
  return new SignJWT({
    account_id: input.accountId,
    user_id: input.userId,
    subdomain: input.subdomain,
    client_uuid: input.clientId,
    ...(input.isAdmin !== undefined && { is_admin: input.isAdmin }),
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(`https://${input.subdomain}.kommo.com`)
    .setAudience(input.audience)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(now + lifetime)
    .sign(new TextEncoder().encode(input.clientSecret));
}
