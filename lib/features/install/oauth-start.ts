// GET /api/kommo/oauth/start: begin the browser consent flow with a fresh one-time state.
import { consentUrl, createOAuthState } from "./oauth-state";
import { answeringErrors } from "@/lib/platform/http/answering-errors";

export const handleOAuthStart = answeringErrors("kommo-oauth-start", async (request: Request): Promise<Response> => {
  const mode = new URL(request.url).searchParams.get("mode") === "post_message" ? "post_message" : "popup";
  const state = await createOAuthState();
  return new Response(null, { status: 302, headers: { Location: consentUrl(state, mode), "Cache-Control": "no-store" } });
});
