// The frame of the dashboard's JSON routes (/api/dashboard/*): the session from the request's
// cookie, 401 without one, the account checked against the viewer (404 when it is not theirs, the
// same answer as for an account that does not exist), errors in the one JSON shape.
import { jsonError } from "@/lib/platform/http/errors";
import { logger } from "@/lib/platform/log";
import { AccountNotVisibleError, authorizeAccount, type AuthorizedAccount } from "./access";
import { viewerFromRequest } from "@/lib/features/dashboard/auth/sessions";
import type { Viewer } from "@/lib/features/dashboard/auth/viewer";

type RouteContext<Params> = { params: Promise<Params> };

export function dashboardRoute<Params = Record<string, never>>(handler: (request: Request, viewer: Viewer, params: Params) => Promise<Response>) {
  return async (request: Request, context: RouteContext<Params>): Promise<Response> => {
    try {
      const viewer = await viewerFromRequest(request);
      if (!viewer) return jsonError(401, "not_signed_in", "sign in at /dashboard/sign-in first");
      return await handler(request, viewer, await context.params);
    } catch (error) {
      if (error instanceof AccountNotVisibleError) return jsonError(404, "account_not_found", "no such account");
      logger().error({ err: error, path: new URL(request.url).pathname }, "dashboard API request failed");
      return jsonError(500, "internal_error", "something went wrong on our side; try again in a minute");
    }
  };
}

/** A route about one account: `params.accountId` is authorized before the handler runs. */
export function accountRoute(handler: (request: Request, account: AuthorizedAccount, viewer: Viewer) => Promise<Response>) {
  return dashboardRoute<{ accountId: string }>(async (request, viewer, params) => handler(request, await authorizeAccount(viewer, params.accountId), viewer));
}
