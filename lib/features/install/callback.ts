// GET /api/kommo/oauth/callback: the Redirect URI, reached through three doors.
//  - Widget install: Kommo's server calls with `code`, `referer`, `from_widget`. No `state` exists on
//    this door (Kommo's own SDK skips the check there); the code is only worth something together
//    with our client secret. Kommo waits 3 s and never resends (see install-runner.ts).
//  - Browser consent: the user's browser arrives with `code`, `referer`, `state`, `client_id`; the
//    state must be one we issued, unused and unexpired.
//  - "Sign in with Kommo" of the dashboard: a consent answer whose state is a dashboard sign-in's;
//    the route hands it to the dashboard first (lib/features/dashboard/auth/kommo-sign-in.ts).
import { z } from "zod";
import { requireKommoCredentials } from "@/lib/platform/env";
import { jsonError } from "@/lib/platform/http/errors";
import { parseKommoHost } from "@/lib/integrations/kommo/hosts";
import { forgetCode, takeCodeOnce } from "./door";
import { beginInstall } from "./install";
import { BROWSER_INSTALL_TIMINGS, installWithin, WIDGET_INSTALL_TIMINGS } from "./install-runner";
import { consumeOAuthState } from "./oauth-state";
import { htmlPage } from "./pages";
import { answeringErrors } from "@/lib/platform/http/answering-errors";

const code = z.string().min(1).max(4096);
const referer = z.string().min(1).max(253);
const widgetInstallSchema = z.object({ code, referer, from_widget: z.string() });
const consentSchema = z.object({ code, referer, state: z.string().min(1).max(200), client_id: z.string().min(1).max(100) });
const deniedSchema = z.object({ error: z.string().min(1).max(200) });

async function widgetInstall(params: Record<string, string>): Promise<Response> {
  const parsed = widgetInstallSchema.safeParse(params);
  if (!parsed.success) return jsonError(400, "invalid_request", "The install call needs code, referer and from_widget");
  const accountHost = parseKommoHost(parsed.data.referer);
  if (!accountHost) return jsonError(400, "invalid_referer", "referer is not a Kommo account host");
  if (!(await takeCodeOnce(parsed.data.code))) {
    return jsonError(409, "install_code_reused", "this code was already received; the install it started is running or done");
  }
  const result = await installWithin(beginInstall(accountHost.host, parsed.data.code), WIDGET_INSTALL_TIMINGS);
  if (result.kind === "installed") return Response.json({ status: "installed" });
  if (result.kind === "pending") return Response.json({ status: "pending" }, { status: 202 });
  if (result.kind === "busy") {
    // The code never reached Kommo: the same code may come again.
    await forgetCode(parsed.data.code);
    return jsonError(429, "rate_limited", `too many install attempts for this account right now; try again in ${result.retryAfterSeconds} s`, {
      "Retry-After": String(result.retryAfterSeconds),
    });
  }
  return jsonError(400, "install_failed", result.message);
}

async function browserConsent(params: Record<string, string>): Promise<Response> {
  const parsed = consentSchema.safeParse(params);
  if (!parsed.success) return htmlPage(400, "Connection failed", "Kommo's answer is missing required parameters. Please start the connection again.");
  if (parsed.data.client_id !== requireKommoCredentials().clientId) {
    return htmlPage(400, "Connection failed", "This answer was meant for a different integration. Please start the connection again.");
  }
  const accountHost = parseKommoHost(parsed.data.referer);
  if (!accountHost) return htmlPage(400, "Connection failed", "The answer does not come from a Kommo account. Please start the connection again.");
  if (!(await consumeOAuthState(parsed.data.state))) {
    return htmlPage(
      400,
      "This link has expired",
      "This connection link was already used or is too old. Please start the connection again from Kommo.",
    );
  }
  if (!(await takeCodeOnce(parsed.data.code))) {
    return htmlPage(409, "Already received", "Kommo's answer was already received and the connection is being made with it. Please check the widget in Kommo.");
  }
  const result = await installWithin(beginInstall(accountHost.host, parsed.data.code), BROWSER_INSTALL_TIMINGS);
  if (result.kind === "installed") {
    const name = result.accountName ?? accountHost.subdomain;
    return htmlPage(
      200,
      "Klaviyo Sync is connected",
      result.webhookRegistered
        ? `Your Kommo account "${name}" is connected. You can close this window and add your Klaviyo key in the widget settings.`
        : `Your Kommo account "${name}" is connected, but Kommo did not accept our deal webhook, so deal changes will not sync yet. See the widget settings for details.`,
    );
  }
  if (result.kind === "busy") {
    await forgetCode(parsed.data.code);
    return htmlPage(503, "Too many attempts", "Too many connection attempts for this Kommo account right now. Please start the connection again in a minute.");
  }
  if (result.kind === "pending") {
    return htmlPage(202, "Almost done", "Kommo is slow to answer; we are finishing the connection in the background. It will show as connected in a minute.");
  }
  return htmlPage(502, "Connection failed", `Kommo did not complete the connection: ${result.message}. Please start the connection again.`);
}

export const handleOAuthCallback = answeringErrors("kommo-oauth-callback", async (request: Request): Promise<Response> => {
  const params = Object.fromEntries(new URL(request.url).searchParams);
  const denied = deniedSchema.safeParse(params);
  if (denied.success) {
    // The state of a declined attempt is spent as well, so it cannot be replayed later.
    if (params.state) await consumeOAuthState(params.state);
    if (denied.data.error === "access_denied") {
      return htmlPage(
        200,
        "Access not granted",
        "You declined access, so nothing was connected. To use Klaviyo Sync, open the integration in Kommo again and choose Allow.",
      );
    }
    return htmlPage(400, "Connection failed", `Kommo did not grant access (${denied.data.error}). Please start the connection again.`);
  }
  if ("from_widget" in params) return widgetInstall(params);
  if ("state" in params) return browserConsent(params);
  return jsonError(400, "invalid_request", "Expected Kommo's install call (from_widget) or a consent redirect (state)");
});
