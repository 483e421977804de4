// POST /api/auth/sign-out (the top bar's button): the session ends on the server and its cookie
// is cleared; then the sign-in page.
import { NextResponse } from "next/server";
import { cookieOptions, postedFromOurPages, readCookie, sessionCookieName } from "@/lib/features/dashboard/auth/cookies";
import { endSession } from "@/lib/features/dashboard/auth/sessions";
import { SIGN_IN_PAGE } from "@/lib/features/dashboard/auth/sign-in-policy";
import { getEnv } from "@/lib/platform/env";
import { jsonError } from "@/lib/platform/http/errors";

export const dynamic = "force-dynamic";

export async function POST(request: Request) {
  const env = getEnv();
  if (!postedFromOurPages(request, env)) return jsonError(403, "forbidden_origin", "sign out from the dashboard");
  await endSession(readCookie(request.headers.get("cookie"), sessionCookieName(env)));
  const response = NextResponse.redirect(`${env.APP_URL}${SIGN_IN_PAGE}`, { status: 303, headers: { "Cache-Control": "no-store" } });
  response.cookies.set(sessionCookieName(env), "", cookieOptions(env, 0));
  return response;
}
