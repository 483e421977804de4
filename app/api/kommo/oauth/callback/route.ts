// Kommo's Redirect URI: the widget install call, the browser consent redirect, and the dashboard's
// "Sign in with Kommo", whose answer Kommo sends here too (its state tells it apart).
import { dashboardSignInReturn } from "@/lib/features/dashboard/auth/kommo-sign-in";
import { handleOAuthCallback } from "@/lib/features/install/callback";
import { doorThrottle } from "@/lib/features/install/door";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(request: Request) {
  // Nothing here is authenticated yet: every caller's address has its budget first.
  const throttled = await doorThrottle(request);
  if (throttled) return throttled;
  return (await dashboardSignInReturn(request)) ?? handleOAuthCallback(request);
}
