// "Sign in with Kommo", end to end:
//  1. POST /api/auth/sign-in: the browser leaves for Kommo's consent page with a fresh `state`,
//     which also goes into a short-lived signed cookie (HS256, key derived from AUTH_SECRET).
//  2. Kommo sends every consent answer to the integration's one registered Redirect URI,
//     /api/kommo/oauth/callback, the install door. A dashboard state starts with STATE_PREFIX
//     (install states are base64url, which has no "."), so dashboardSignInReturn knows its own
//     answers there; it accepts one only when the state equals this browser's cookie, so nobody
//     can sign a victim's browser in with an answer of their own.
//  3. The code is exchanged on the account's own host (Kommo's `referer`, trusted only when it is
//     a Kommo account host, since the exchange sends our client secret there); GET /api/v4/account
//     names the user (`current_user_id`), GET /api/v4/users says whether they are an admin (Kommo
//     lists users to admins only). The Kommo tokens are then dropped: the dashboard needs to know
//     who the user is, not to act as them.
//  4. The sign-in policy decides; a session is opened (sessions.ts) and the browser goes back to
//     the dashboard page it came from.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import { NextResponse } from "next/server";
import { z } from "zod";
import { clientWithToken } from "@/lib/integrations/kommo/account-client";
import { KommoApiError } from "@/lib/integrations/kommo/errors";
import { parseKommoHost } from "@/lib/integrations/kommo/hosts";
import { exchangeAuthorizationCode } from "@/lib/integrations/kommo/oauth";
import { hostRateKey, takeUnverifiedSlot, unverifiedRateKey } from "@/lib/integrations/kommo/rate";
import { getEnv, requireKommoCredentials, type Env } from "@/lib/platform/env";
import { logger } from "@/lib/platform/log";
import { cookieOptions, readCookie, signInCookieName, type CookieToSet } from "./cookies";
import { openSession } from "./sessions";
import { safeReturnPath, SIGN_IN_PAGE, signInRefusal } from "./sign-in-policy";

const STATE_PREFIX = "dashboard.";
/** Long enough to log in to Kommo on the way. */
export const SIGN_IN_STATE_TTL_SECONDS = 15 * 60;
const AUDIENCE = "klaviyo-sync/dashboard-sign-in";

const stateKey = (env: Env) => createHmac("sha256", env.AUTH_SECRET).update("dashboard sign-in state v1").digest();

/** Kommo's consent page; the test seam KOMMO_API_BASE_URL serves it too. */
export function consentPageUrl(env: Pick<Env, "KOMMO_API_BASE_URL">): string {
  return `${env.KOMMO_API_BASE_URL ?? "https://www.kommo.com"}/oauth`;
}

const noStore = { "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" };

/** Step 1: to Kommo's consent page, remembering the state and where to return in this browser. */
export async function startSignIn(returnTo: unknown, env: Env = getEnv()): Promise<Response> {
  const { clientId } = requireKommoCredentials(env);
  const state = `${STATE_PREFIX}${randomBytes(24).toString("base64url")}`;
  const sealed = await new SignJWT({ state, return_to: safeReturnPath(returnTo) })
    .setProtectedHeader({ alg: "HS256" })
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${SIGN_IN_STATE_TTL_SECONDS}s`)
    .sign(stateKey(env));
  // mode=post_message: Kommo redirects inside the window that shows its page, which is this tab.
  const consent = `${consentPageUrl(env)}?${new URLSearchParams({ client_id: clientId, state, mode: "post_message" })}`;
  const response = NextResponse.redirect(consent, { status: 303, headers: noStore });
  response.cookies.set(signInCookieName(env), sealed, cookieOptions(env, SIGN_IN_STATE_TTL_SECONDS));
  return response;
}

const pendingSchema = z.object({ state: z.string().startsWith(STATE_PREFIX), return_to: z.string() });

async function pendingSignIn(cookie: string | undefined, env: Env): Promise<z.infer<typeof pendingSchema> | null> {
  if (!cookie) return null;
  try {
    const { payload } = await jwtVerify(cookie, stateKey(env), { algorithms: ["HS256"], audience: AUDIENCE, requiredClaims: ["exp"] });
    const pending = pendingSchema.safeParse(payload);
    return pending.success ? pending.data : null;
  } catch {
    return null;
  }
}

const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export class KommoSignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KommoSignInError";
  }
}

/** Who signed in, as read from Kommo right after the code exchange. */
export type KommoSignInUser = {
  kommoAccountId: number;
  kommoUserId: number;
  userName: string | null;
  userEmail: string | null;
  isAdmin: boolean;
};

/** How long a sign-in may take with Kommo, from the exchange to the user's rights. */
export const SIGN_IN_DEADLINE_MS = 15_000;

const answerSchema = z.object({ code: z.string().min(1).max(4096), referer: z.string().min(1).max(253) });

/** Step 3: the code exchanged on the account's host, the user and their admin right read. */
export async function readSignedInUser(answer: { code: string | null; referer: string | null }): Promise<KommoSignInUser> {
  const parsed = answerSchema.safeParse(answer);
  if (!parsed.success) throw new KommoSignInError("Kommo's answer lacks the code or the account host (referer)");
  const host = parseKommoHost(parsed.data.referer);
  if (!host) throw new KommoSignInError("the answer does not name a Kommo account host");
  // Bounded throughout: a sign-in answers within SIGN_IN_DEADLINE_MS, and does not queue behind a
  // host's budget far in debt (junk sent to the open door) but says so at once.
  const signal = AbortSignal.timeout(SIGN_IN_DEADLINE_MS);
  await takeUnverifiedSlot(host.host, signal);
  const { accessToken } = await exchangeAuthorizationCode(host.host, parsed.data.code, unverifiedRateKey(host.host), signal);
  // Kommo accepted the code: the reads that follow are a real user's, in the host's own budget.
  const kommo = clientWithToken(host.host, accessToken, hostRateKey(host.host), signal);
  const account = await kommo.getAccount();
  if (!account.current_user_id) throw new KommoSignInError("Kommo did not say which user signed in");
  let user: { name?: string | null; email?: string | null; rights?: { is_admin?: boolean; is_active?: boolean } } | undefined;
  try {
    user = (await kommo.getUsers()).find((candidate) => candidate.id === account.current_user_id);
  } catch (error) {
    // Kommo lists users to admins only: a refusal means this user is not one.
    if (!(error instanceof KommoApiError && error.status === 403)) throw error;
  }
  return {
    kommoAccountId: account.id,
    kommoUserId: account.current_user_id,
    userName: user?.name ?? null,
    userEmail: user?.email?.trim().toLowerCase() || null,
    isAdmin: user?.rights?.is_admin === true && user.rights.is_active !== false,
  };
}

function finish(env: Env, target: string, session?: CookieToSet): Response {
  const response = NextResponse.redirect(`${env.APP_URL}${target}`, { status: 303, headers: noStore });
  response.cookies.set(signInCookieName(env), "", cookieOptions(env, 0));
  if (session) response.cookies.set(session.name, session.value, session.options);
  return response;
}

const refused = (env: Env, code: string) => finish(env, `${SIGN_IN_PAGE}?error=${code}`);

/**
 * Step 2 and 4, at the Redirect URI: the response to a dashboard sign-in's answer, or null when
 * the answer is not one (an install, which the route hands on to the install flow).
 */
export async function dashboardSignInReturn(request: Request, env: Env = getEnv(), now = new Date()): Promise<Response | null> {
  const params = new URL(request.url).searchParams;
  const state = params.get("state");
  if (!state?.startsWith(STATE_PREFIX) || params.has("from_widget")) return null;
  const pending = await pendingSignIn(readCookie(request.headers.get("cookie"), signInCookieName(env)), env);
  // Another browser's answer, a replayed one, or a sign-in that took too long.
  if (!pending || !sameText(pending.state, state)) return refused(env, "sign_in_expired");
  if (params.has("error")) return refused(env, params.get("error") === "access_denied" ? "access_denied" : "kommo_failed");
  let user: KommoSignInUser;
  try {
    user = await readSignedInUser({ code: params.get("code"), referer: params.get("referer") });
  } catch (error) {
    logger().warn({ reason: error instanceof Error ? error.message : String(error) }, "dashboard sign-in: Kommo did not complete it");
    return refused(env, "kommo_failed");
  }
  const refusal = await signInRefusal(user, env);
  if (refusal) {
    // The ids are what OPERATOR_KOMMO_USERS takes, should this be an operator not listed yet.
    logger().info({ kommoAccountId: user.kommoAccountId, kommoUserId: user.kommoUserId, refusal }, "dashboard sign-in refused");
    return refused(env, refusal);
  }
  const session = await openSession(
    { kommoAccountId: user.kommoAccountId, kommoUserId: user.kommoUserId, isAdmin: user.isAdmin, name: user.userName, email: user.userEmail, via: "kommo" },
    {},
    env,
    now,
  );
  logger().info({ kommoAccountId: user.kommoAccountId, kommoUserId: user.kommoUserId }, "dashboard sign-in");
  return finish(env, safeReturnPath(pending.return_to), session);
}
