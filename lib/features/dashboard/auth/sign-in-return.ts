// Kommo sends every consent answer to the integration's one registered Redirect URI, so a
// "Sign in with Kommo" comes back to /api/kommo/oauth/callback, the install door. This tells the
// two apart: an answer whose `state` equals the one in this browser's next-auth state cookie is a
// dashboard sign-in and goes on to next-auth's callback (which checks the state again); any other
// answer stays with the install flow.
import { decode } from "next-auth/jwt";
import { getEnv, type Env } from "@/lib/platform/env";
import { readCookie, stateCookieName } from "./cookies";
import { KOMMO_PROVIDER_ID } from "./kommo-provider";

export async function dashboardSignInReturn(request: Request, env: Env = getEnv()): Promise<Response | null> {
  const url = new URL(request.url);
  const state = url.searchParams.get("state");
  if (!state || url.searchParams.has("from_widget")) return null;
  const cookieName = stateCookieName(env);
  const cookie = readCookie(request.headers.get("cookie"), cookieName);
  if (!cookie) return null;
  // next-auth seals the state cookie like a session, salted with the cookie's name.
  const sealed = await decode({ token: cookie, secret: env.AUTH_SECRET, salt: cookieName }).catch(() => null);
  if (!sealed || sealed.value !== state || sealed.provider !== KOMMO_PROVIDER_ID) return null;
  const target = new URL(`${env.APP_URL}/api/auth/callback/${KOMMO_PROVIDER_ID}`);
  target.search = url.search;
  // next-auth keeps only the standard OAuth callback parameters; the account host that issued the
  // code (Kommo's `referer`) travels on as `iss`, the authorization response's issuer (RFC 9207).
  const referer = url.searchParams.get("referer");
  if (referer) target.searchParams.set("iss", `https://${referer}`);
  return new Response(null, { status: 302, headers: { Location: target.toString(), "Cache-Control": "no-store" } });
}
