// GET /dashboard/enter?ticket=…: the link the widget opened (see lib/features/dashboard/auth/entry.ts).
// A valid ticket becomes a dashboard session cookie and a redirect to the account's page, so the
// ticket never stays in the address bar; anything else goes to the sign-in page with the reason.
import { NextResponse } from "next/server";
import { db } from "@/lib/db/client";
import { verifyEntryTicket } from "@/lib/features/dashboard/auth/entry";
import { SIGN_IN_PAGE } from "@/lib/features/dashboard/auth/options";
import { sessionCookie } from "@/lib/features/dashboard/auth/session";
import { getEnv } from "@/lib/platform/env";

export const dynamic = "force-dynamic";

const headers = { "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" };

export async function GET(request: Request) {
  const env = getEnv();
  const check = await verifyEntryTicket(new URL(request.url).searchParams.get("ticket"), env);
  const account = check.ok
    ? await db().account.findUnique({ where: { kommoAccountId: check.claims.kommoAccountId }, select: { id: true, status: true } })
    : null;
  if (!check.ok || !account || account.status === "disconnected") {
    const error = check.ok ? "not_installed" : "session_expired";
    return NextResponse.redirect(`${env.APP_URL}${SIGN_IN_PAGE}?error=${error}`, { status: 303, headers });
  }
  const response = NextResponse.redirect(`${env.APP_URL}/dashboard/accounts/${account.id}`, { status: 303, headers });
  const cookie = await sessionCookie(check.claims, env);
  response.cookies.set(cookie.name, cookie.value, cookie.options);
  return response;
}
