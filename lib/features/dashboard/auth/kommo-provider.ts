// "Sign in with Kommo": a next-auth OAuth provider on Kommo's consent page.
//
// Kommo differs from a textbook OAuth provider in three ways this file absorbs:
//  - the consent page takes no redirect_uri: Kommo always returns to the integration's registered
//    Redirect URI (/api/kommo/oauth/callback), which hands sign-ins on to next-auth (sign-in-return.ts);
//  - the token endpoint lives on the account's own host, named by `referer` in the redirect (and
//    passed to next-auth as `iss`, see sign-in-return.ts); that host is trusted only when it is a
//    Kommo account host (parseKommoHost), because the exchange sends our client secret there;
//  - there is no userinfo endpoint: GET /api/v4/account names the current user, GET /api/v4/users
//    says whether they are an admin (Kommo answers that list to admins only).
// The tokens obtained are used for those two reads and then dropped: the dashboard needs to know
// who the user is, not to act as them.
import type { OAuthConfig } from "next-auth/providers/oauth";
import { z } from "zod";
import { requireKommoCredentials, type Env } from "@/lib/platform/env";
import { clientWithToken } from "@/lib/integrations/kommo/account-client";
import { KommoApiError } from "@/lib/integrations/kommo/errors";
import { parseKommoHost } from "@/lib/integrations/kommo/hosts";
import { exchangeAuthorizationCode } from "@/lib/integrations/kommo/oauth";
import { hostRateKey, takeSlot } from "@/lib/integrations/kommo/rate";

export const KOMMO_PROVIDER_ID = "kommo";

/** Kommo's consent page; the test seam KOMMO_API_BASE_URL serves it too. */
export function consentPageUrl(env: Pick<Env, "KOMMO_API_BASE_URL">): string {
  return `${env.KOMMO_API_BASE_URL ?? "https://www.kommo.com"}/oauth`;
}

/** Who signed in, as read from Kommo right after the code exchange. */
export const kommoSignInProfileSchema = z.object({
  /** "{account id}:{user id}", the user's identity across Kommo. */
  sub: z.string().min(1),
  kommoAccountId: z.number().int().positive(),
  kommoUserId: z.number().int().positive(),
  subdomain: z.string().min(1),
  accountName: z.string(),
  userName: z.string().nullable(),
  userEmail: z.string().nullable(),
  isAdmin: z.boolean(),
});
export type KommoSignInProfile = z.infer<typeof kommoSignInProfileSchema>;

/** `iss`: the account host from Kommo's `referer`, as sign-in-return.ts passes it on. */
const callbackParamsSchema = z.object({
  code: z.string().min(1).max(4096),
  iss: z.url({ protocol: /^https$/ }).max(300),
});

/** What the token step hands to the userinfo step (next-auth passes it along as the token set). */
const signInTokensSchema = z.object({ access_token: z.string().min(1), kommo_host: z.string().min(1) });

export class KommoSignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KommoSignInError";
  }
}

async function exchangeCode(params: unknown) {
  const parsed = callbackParamsSchema.safeParse(params);
  if (!parsed.success) throw new KommoSignInError("Kommo's answer lacks the code or the account host (referer)");
  const issuer = new URL(parsed.data.iss);
  const host = issuer.pathname === "/" && !issuer.port && !issuer.username ? parseKommoHost(issuer.hostname) : null;
  if (!host) throw new KommoSignInError("the answer does not name a Kommo account host");
  const rateKey = hostRateKey(host.host);
  await takeSlot(rateKey);
  const pair = await exchangeAuthorizationCode(host.host, parsed.data.code, rateKey);
  return { access_token: pair.accessToken, token_type: "bearer", kommo_host: host.host };
}

async function readSignedInUser(tokens: unknown): Promise<KommoSignInProfile> {
  const { access_token: accessToken, kommo_host: host } = signInTokensSchema.parse(tokens);
  const kommo = clientWithToken(host, accessToken, hostRateKey(host));
  const account = await kommo.getAccount();
  if (!account.current_user_id) throw new KommoSignInError("Kommo did not say which user signed in");
  let user: { name?: string | null; email?: string | null; rights?: { is_admin?: boolean } } | undefined;
  try {
    user = (await kommo.getUsers()).find((candidate) => candidate.id === account.current_user_id);
  } catch (error) {
    // Kommo lists users to admins only: a refusal means this user is not one.
    if (!(error instanceof KommoApiError && error.status === 403)) throw error;
  }
  return {
    sub: `${account.id}:${account.current_user_id}`,
    kommoAccountId: account.id,
    kommoUserId: account.current_user_id,
    subdomain: account.subdomain,
    accountName: account.name,
    userName: user?.name ?? null,
    userEmail: user?.email?.trim().toLowerCase() || null,
    isAdmin: user?.rights?.is_admin === true,
  };
}

export function kommoProvider(env: Env): OAuthConfig<KommoSignInProfile> {
  const { clientId, clientSecret } = requireKommoCredentials(env);
  return {
    id: KOMMO_PROVIDER_ID,
    name: "Kommo",
    type: "oauth",
    clientId,
    clientSecret,
    // next-auth keeps the state in a cookie and compares it on return (CSRF protection of the redirect).
    checks: ["state"],
    authorization: {
      url: consentPageUrl(env),
      // Kommo's consent page takes client_id, state and mode only; null drops openid-client's defaults.
      // post_message: Kommo redirects inside the window that shows its page, which is this tab.
      params: { mode: "post_message", scope: null, response_type: null, redirect_uri: null } as unknown as Record<string, string>,
    },
    token: { request: async ({ params }) => ({ tokens: await exchangeCode(params) }) },
    userinfo: { request: async ({ tokens }) => readSignedInUser(tokens) },
    profile: (profile) => ({
      id: profile.sub,
      name: profile.userName,
      email: profile.userEmail,
    }),
  };
}
