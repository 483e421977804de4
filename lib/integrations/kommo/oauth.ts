// Kommo's token endpoint: `POST https://{account host}/oauth2/access_token` for both grants.
// Each refresh returns a new pair and retires the old refresh token, so callers must store the
// new pair before anything else uses the account (see tokens.ts). Callers take the rate-limit slot
// first (takeSlot), so that a refresh can do so before it locks the account row.
import { z } from "zod";
import { requireKommoCredentials } from "@/lib/platform/env";
import { KommoOAuthError, KommoRateLimitedError, KommoResponseError, KommoTokenRevokedError } from "./errors";
import { kommoBaseUrl } from "./hosts";
import { pauseAccount } from "./rate";
import { fetchKommo, readErrorBody, retryAfterSeconds } from "./transport";

export type TokenPair = { accessToken: string; refreshToken: string; expiresAt: Date };

const tokenResponseSchema = z.object({
  token_type: z.string().refine((type) => type.toLowerCase() === "bearer", "token_type must be Bearer"),
  expires_in: z.number().int().positive(),
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  server_time: z.number().int().optional(),
});

type Grant = { grant_type: "authorization_code"; code: string } | { grant_type: "refresh_token"; refresh_token: string };

async function requestTokens(host: string, grant: Grant, rateKey: string, signal?: AbortSignal): Promise<TokenPair> {
  const credentials = requireKommoCredentials();
  const startedAt = Date.now();
  const response = await fetchKommo(
    `${kommoBaseUrl(host)}/oauth2/access_token`,
    {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret,
        redirect_uri: credentials.redirectUri,
        ...grant,
      }),
    },
    signal,
  );

  if (response.ok) {
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new KommoResponseError("Kommo's token endpoint answered with a body that is not JSON", error);
    }
    const parsed = tokenResponseSchema.safeParse(body);
    if (!parsed.success) throw new KommoResponseError(`Kommo's token answer has an unexpected shape: ${parsed.error.issues[0]?.message}`);
    // Counted from before the request, so the stored expiry is never later than Kommo's.
    return {
      accessToken: parsed.data.access_token,
      refreshToken: parsed.data.refresh_token,
      expiresAt: new Date(startedAt + parsed.data.expires_in * 1000),
    };
  }

  const { problem } = await readErrorBody(response);
  const hint = problem?.hint;
  const why = [problem?.title, problem?.detail, hint].filter(Boolean).join(": ") || `HTTP ${response.status}`;
  if (response.status === 429) {
    const seconds = retryAfterSeconds(response, problem, 1);
    await pauseAccount(rateKey, seconds);
    throw new KommoRateLimitedError(seconds, problem);
  }
  if (response.status >= 500 || response.status === 403) {
    throw new KommoOAuthError("kommo_oauth_unavailable", `Kommo's token endpoint failed (${why})`, response.status, hint, true);
  }
  if (/client authentication|client_id|client_secret|redirect/i.test(hint ?? "")) {
    // Our own configuration is wrong (KOMMO_CLIENT_*, KOMMO_REDIRECT_URI): no account admin can fix
    // it, so the account is not flagged; the operator must.
    throw new KommoOAuthError("kommo_client_rejected", `Kommo rejected this integration's configuration (${why})`, response.status, hint, false);
  }
  if (grant.grant_type === "refresh_token") throw new KommoTokenRevokedError(response.status, hint ?? problem?.detail);
  throw new KommoOAuthError("kommo_code_rejected", `Kommo rejected the authorization code (${why})`, response.status, hint, false);
}

/** Trade the install's one-time code (valid 20 minutes, single use) for the first token pair. */
export function exchangeAuthorizationCode(host: string, code: string, rateKey: string, signal?: AbortSignal) {
  return requestTokens(host, { grant_type: "authorization_code", code }, rateKey, signal);
}

/** Trade the current refresh token for a new pair; the old refresh token is dead afterwards. */
export function refreshTokenPair(host: string, refreshToken: string, rateKey: string, signal?: AbortSignal) {
  return requestTokens(host, { grant_type: "refresh_token", refresh_token: refreshToken }, rateKey, signal);
}
