// Starts the browser consent flow: a fresh one-time state, then Kommo's consent page.
import { doorThrottle } from "@/lib/features/install/door";
import { handleOAuthStart } from "@/lib/features/install/oauth-start";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(request: Request) {
  // Each start writes a state row: every caller's address has its budget first.
  return (await doorThrottle(request)) ?? handleOAuthStart(request);
}
