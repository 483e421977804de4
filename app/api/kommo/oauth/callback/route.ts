// Kommo's Redirect URI: the widget install call, the browser consent redirect, and the dashboard's
// "Sign in with Kommo", which returns through the same URI and goes on to next-auth.
import { dashboardSignInReturn } from "@/lib/features/dashboard/auth/sign-in-return";
import { handleOAuthCallback } from "@/lib/features/install/callback";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(request: Request) {
  return (await dashboardSignInReturn(request)) ?? handleOAuthCallback(request);
}
