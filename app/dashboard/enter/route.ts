// GET /dashboard/enter?ticket=…: the link the widget opened (see lib/features/dashboard/auth/entry.ts).
// A valid, unused ticket becomes a dashboard session cookie and a redirect to the account's page, so
// the ticket never stays in the address bar; anything else goes to the sign-in page with the reason.
import { NextResponse } from "next/server";
import { enterWithTicket } from "@/lib/features/dashboard/auth/entry";
import { SIGN_IN_PAGE } from "@/lib/features/dashboard/auth/sign-in-policy";
import { getEnv } from "@/lib/platform/env";

export const dynamic = "force-dynamic";

const headers = { "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" };

export async function GET(request: Request) {
  const env = getEnv();
  const entry = await enterWithTicket(new URL(request.url).searchParams.get("ticket"), env);
  if (!entry.ok) return NextResponse.redirect(`${env.APP_URL}${SIGN_IN_PAGE}?error=${entry.reason}`, { status: 303, headers });
  const response = NextResponse.redirect(`${env.APP_URL}/dashboard/accounts/${entry.accountId}`, { status: 303, headers });
  response.cookies.set(entry.cookie.name, entry.cookie.value, entry.cookie.options);
  return response;
}
