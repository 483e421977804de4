// GET /api/kommo/oauth/start: begin the browser consent flow with a fresh one-time state.
import { consentUrl, createOAuthState } from "./oauth-state";

export async function handleOAuthStart(request: Request): Promise<Response> {
  const mode = new URL(request.url).searchParams.get("mode") === "post_message" ? "post_message" : "popup";
  const state = await createOAuthState();
  return new Response(null, { status: 302, headers: { Location: consentUrl(state, mode), "Cache-Control": "no-store" } });
}
