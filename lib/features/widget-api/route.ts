// The frame of every widget API route: CORS for the account's Kommo origin, X-Auth-Token
// verification, the installed account, optional admin check, and errors in the one JSON shape.
import type { Account } from "@/lib/db/client";
import { db, numberIds } from "@/lib/db/client";
import { ConfigError, getEnv } from "@/lib/platform/env";
import { errorResponse, jsonError } from "@/lib/platform/http/errors";
import { OutcomeError } from "@/lib/outcomes";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { INTERACTIVE_MAX_WAIT_MS } from "@/lib/integrations/kommo/rate";
import { logger } from "@/lib/platform/log";
import { corsHeaders, isAccountOrigin, isKommoOrigin } from "./cors";
import { throttleUser, UserRateLimitedError } from "./lead-access";
import { verifyWidgetToken, WidgetAuthError, type WidgetClaims } from "./token";

export type WidgetRequestContext<Params> = { account: Account; claims: WidgetClaims; params: Params };

type RouteContext<Params> = { params: Promise<Params> };

export type WidgetRouteOptions = {
  /** Writes to the account's settings: only Kommo account admins. */
  adminOnly?: boolean;
  /**
   * The route calls Kommo or Klaviyo for any user of the account: each user's requests are limited
   * (lead-access.ts WIDGET_USER_LIMIT), answered 429 with Retry-After beyond it.
   */
  throttled?: boolean;
};

/** Kommo's token carries is_admin for admins; when it is absent, ask Kommo about the user. */
async function userIsAdmin(account: Account, claims: WidgetClaims): Promise<boolean> {
  if (claims.is_admin !== undefined) return claims.is_admin;
  const users = await (await kommoClientFor(account.id, undefined, { maxSlotWaitMs: INTERACTIVE_MAX_WAIT_MS })).getUsers();
  return users.some((user) => user.id === claims.user_id && user.rights?.is_admin === true);
}

function withCors(response: Response, origin: string | null, allowed: boolean): Response {
  if (origin && allowed) for (const [name, value] of Object.entries(corsHeaders(origin))) response.headers.set(name, value);
  return response;
}

export function widgetRoute<Params = Record<string, never>>(
  handler: (request: Request, context: WidgetRequestContext<Params>) => Promise<Response>,
  options: WidgetRouteOptions = {},
) {
  return async (request: Request, routeContext: RouteContext<Params>): Promise<Response> => {
    const origin = request.headers.get("origin");
    let allowedOrigin = isKommoOrigin(origin);
    try {
      const claims = await verifyWidgetToken(request.headers.get("x-auth-token"), getEnv());
      const row = await db().account.findUnique({ where: { kommoAccountId: claims.account_id } });
      const account = row && numberIds(row);
      if (!account || account.status === "disconnected") {
        throw new WidgetAuthError("not_installed", "the integration is not installed in this Kommo account: install it from the Kommo marketplace");
      }
      allowedOrigin = origin === null || isAccountOrigin(origin, account);
      if (!allowedOrigin) throw new WidgetAuthError("forbidden_origin", "requests must come from this account's Kommo page");
      if (options.adminOnly && !(await userIsAdmin(account, claims))) {
        throw new WidgetAuthError("admin_only", "only an administrator of the Kommo account can change this");
      }
      if (options.throttled) await throttleUser(account, claims);
      const response = await handler(request, { account, claims, params: await routeContext.params });
      return withCors(response, origin, allowedOrigin);
    } catch (error) {
      // Outcomes the product defined (bad token, not installed, Klaviyo not connected, ...) carry their status.
      if (error instanceof UserRateLimitedError) {
        return withCors(errorResponse(error, { "Retry-After": String(error.retryAfterSeconds) }), origin, allowedOrigin);
      }
      if (error instanceof OutcomeError) return withCors(errorResponse(error), origin, allowedOrigin);
      if (error instanceof ConfigError) return withCors(jsonError(503, "not_configured", error.message), origin, allowedOrigin);
      logger().error({ err: error, path: new URL(request.url).pathname }, "widget API request failed");
      return withCors(jsonError(500, "internal_error", "something went wrong on our side; try again in a minute"), origin, allowedOrigin);
    }
  };
}

/** OPTIONS preflight: browsers send no token with it, so any Kommo account page may ask. */
export function widgetPreflight(request: Request): Response {
  const origin = request.headers.get("origin");
  if (!isKommoOrigin(origin)) return jsonError(403, "forbidden_origin", "requests must come from a Kommo account page");
  return new Response(null, { status: 204, headers: corsHeaders(origin) });
}
