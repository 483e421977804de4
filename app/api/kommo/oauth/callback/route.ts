// Kommo's Redirect URI: the widget install call and the browser consent redirect.
import { handleOAuthCallback } from "@/lib/kommo/callback";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export function GET(request: Request) {
  return handleOAuthCallback(request);
}
