// Starts the browser consent flow: a fresh one-time state, then Kommo's consent page.
import { handleOAuthStart } from "@/lib/features/install/oauth-start";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export function GET(request: Request) {
  return handleOAuthStart(request);
}
