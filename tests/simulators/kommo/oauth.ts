// POST /oauth2/access_token as Kommo runs it: client credentials and redirect_uri checked on every
// grant; codes single-use and valid 20 minutes; access tokens valid 24 hours; every refresh rotates
// the pair and kills the old refresh token, whose reuse answers 401 "Token has been revoked".
import qs from "qs";
import { oauthProblem, type SimResponse } from "./respond";
import { secretToken, type SimStore } from "./store";

export const CODE_LIFETIME_SECONDS = 20 * 60;
export const ACCESS_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;
export const REFRESH_TOKEN_LIFETIME_SECONDS = 90 * 24 * 60 * 60;

export type OAuthConfig = { clientId: string; clientSecret: string; redirectUri: string };

/** Kommo's documented JSON body, or the form encoding its PHP SDK sends; both are accepted. */
function parseTokenBody(contentType: string, body: string): Record<string, unknown> | null {
  if (contentType.startsWith("application/json")) {
    try {
      const parsed: unknown = JSON.parse(body);
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
  if (contentType.startsWith("application/x-www-form-urlencoded")) return qs.parse(body);
  return null;
}

export function issueTokenPair(store: SimStore, accountId: number, now: number, lifetimeSeconds = ACCESS_TOKEN_LIFETIME_SECONDS, userId?: number) {
  const accessToken = secretToken("sim-at-");
  const refreshToken = secretToken("sim-rt-");
  store.accessTokens.set(accessToken, { accountId, expiresAt: now + lifetimeSeconds * 1000, revoked: false, userId });
  store.refreshTokens.set(refreshToken, { accountId, expiresAt: now + REFRESH_TOKEN_LIFETIME_SECONDS * 1000, used: false, revoked: false, userId });
  return {
    token_type: "Bearer",
    expires_in: lifetimeSeconds,
    access_token: accessToken,
    refresh_token: refreshToken,
    server_time: Math.floor(now / 1000),
  };
}

/** The answer, and the account the presented code or refresh token belongs to (for counters). */
export type TokenAnswer = { response: SimResponse; accountId: number | null; grantType: "authorization_code" | "refresh_token" | null };

export function tokenEndpoint(
  store: SimStore,
  config: OAuthConfig,
  now: number,
  request: { contentType: string; body: string },
  accessTokenLifetimeSeconds: number,
): TokenAnswer {
  const body = parseTokenBody(request.contentType, request.body);
  const presented = body && typeof body.code === "string" ? store.codes.get(body.code) : undefined;
  const refreshed = body && typeof body.refresh_token === "string" ? store.refreshTokens.get(body.refresh_token) : undefined;
  const accountId = (body?.grant_type === "refresh_token" ? refreshed : presented)?.accountId ?? null;
  const grantType = body?.grant_type === "refresh_token" || body?.grant_type === "authorization_code" ? body.grant_type : null;
  return { response: grant(store, config, now, body, accessTokenLifetimeSeconds), accountId, grantType };
}

function grant(
  store: SimStore,
  config: OAuthConfig,
  now: number,
  body: Record<string, unknown> | null,
  accessTokenLifetimeSeconds: number,
): SimResponse {
  if (!body) return oauthProblem(400, "Request body must be JSON or form-encoded", "Request is invalid");
  const field = (name: string) => (typeof body[name] === "string" ? (body[name] as string) : undefined);

  if (field("client_id") !== config.clientId || field("client_secret") !== config.clientSecret) {
    return oauthProblem(401, "Client authentication failed", "Client authentication failed");
  }
  if (field("redirect_uri") !== config.redirectUri) {
    return oauthProblem(400, "Redirect URI mismatch: it must equal the one registered for the integration", "Request is invalid");
  }
  const grantType = field("grant_type");
  const ok = (pair: object): SimResponse => ({ status: 200, headers: { "Content-Type": "application/json" }, body: JSON.stringify(pair) });

  if (grantType === "authorization_code") {
    const codeValue = field("code");
    if (!codeValue) return oauthProblem(400, "Check the `code` parameter", "Request is invalid");
    const code = store.codes.get(codeValue);
    if (!code || code.used) return oauthProblem(400, "Authorization code has been revoked", "Request is invalid");
    if (code.expiresAt <= now) return oauthProblem(400, "Authorization code has expired", "Request is invalid");
    code.used = true;
    return ok(issueTokenPair(store, code.accountId, now, accessTokenLifetimeSeconds, code.userId));
  }

  if (grantType === "refresh_token") {
    const tokenValue = field("refresh_token");
    if (!tokenValue) return oauthProblem(400, "Check the `refresh_token` parameter", "Request is invalid");
    const token = store.refreshTokens.get(tokenValue);
    if (!token) return oauthProblem(401, "Cannot decrypt the refresh token", "Request is invalid");
    if (token.used || token.revoked || token.expiresAt <= now) return oauthProblem(401, "Token has been revoked", "Request is invalid");
    token.used = true;
    return ok(issueTokenPair(store, token.accountId, now, accessTokenLifetimeSeconds, token.userId));
  }

  return oauthProblem(400, "Unsupported grant type: use authorization_code or refresh_token", "Request is invalid");
}
