// Verification of the one-time token (X-Auth-Token) that Kommo's `$authorizedAjax` attaches to every
// widget request: a JWT signed HS256 with the integration's secret key, for our origin (`aud`), valid
// for 30 minutes, naming the account and the user.
import { errors as joseErrors, jwtVerify } from "jose";
import { z } from "zod";
import { OutcomeError } from "@/lib/outcomes";
import { requireKommoCredentials, type Env } from "@/lib/platform/env";

/** Why a widget request was refused before its route ran; the widget tells a stale session by these. */
export type WidgetAuthErrorCode = "missing_token" | "invalid_token" | "token_expired" | "not_installed" | "forbidden_origin" | "admin_only";

/** The request is not from a user of an installed account; answered 401 or 403 by its code. */
export class WidgetAuthError extends OutcomeError {
  declare readonly code: WidgetAuthErrorCode;
  constructor(code: WidgetAuthErrorCode, message: string) {
    super(code, message);
  }
}

const claimsSchema = z.object({
  iss: z.string().min(1),
  aud: z.union([z.string(), z.array(z.string())]),
  jti: z.string().min(1),
  iat: z.number(),
  exp: z.number(),
  account_id: z.coerce.number().int().positive(),
  user_id: z.coerce.number().int().positive(),
  subdomain: z.string().min(1),
  client_uuid: z.string().min(1),
  /** Not in Kommo's documented example, but read by its official SDK; absent means "unknown". */
  is_admin: z.boolean().optional(),
});

export type WidgetClaims = z.infer<typeof claimsSchema>;

/** Tokens live 30 minutes; a little clock skew between Kommo and us is tolerated. */
const CLOCK_TOLERANCE_SECONDS = 30;

export async function verifyWidgetToken(token: string | null, env: Env): Promise<WidgetClaims> {
  if (!token) throw new WidgetAuthError("missing_token", "X-Auth-Token header is missing; call this API through $authorizedAjax");
  const { clientId, clientSecret, redirectUri } = requireKommoCredentials(env);
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(clientSecret), {
      algorithms: ["HS256"],
      audience: new URL(redirectUri).origin,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["exp", "iat", "aud"],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new WidgetAuthError("token_expired", "the widget token has expired; reload the page");
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      throw new WidgetAuthError("invalid_token", `the widget token is not for this integration (${error.claim})`);
    }
    throw new WidgetAuthError("invalid_token", "the widget token is invalid");
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) throw new WidgetAuthError("invalid_token", "the widget token lacks the account or user it is for");
  if (claims.data.client_uuid !== clientId) {
    throw new WidgetAuthError("invalid_token", "the widget token was issued for another integration");
  }
  return claims.data;
}
