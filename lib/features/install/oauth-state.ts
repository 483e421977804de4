// The browser consent flow's `state`: created when we send the user to Kommo, accepted once when
// Kommo sends them back, and only within its lifetime (CSRF protection for the redirect).
import { randomBytes } from "node:crypto";
import { db } from "@/lib/db/client";
import { requireKommoCredentials } from "@/lib/platform/env";

/** Long enough to read the consent page and log in to Kommo first. */
export const OAUTH_STATE_TTL_MS = 15 * 60_000;

/** Kommo's consent page (the browser goes there, not our server). */
const CONSENT_URL = "https://www.kommo.com/oauth";

export async function createOAuthState(now = new Date()): Promise<string> {
  const state = randomBytes(24).toString("base64url");
  // Expired states of abandoned attempts are cleared on the way, so the table stays small.
  await db().oAuthState.deleteMany({ where: { expiresAt: { lt: now } } });
  await db().oAuthState.create({ data: { state, expiresAt: new Date(now.getTime() + OAUTH_STATE_TTL_MS) } });
  return state;
}

/** True once per unexpired state; the row is deleted in the same statement, so a replay fails. */
export async function consumeOAuthState(state: string, now = new Date()): Promise<boolean> {
  const { count } = await db().oAuthState.deleteMany({ where: { state, expiresAt: { gt: now } } });
  return count === 1;
}

/** Where to send the browser to grant access; `mode` as Kommo defines it for its consent window. */
export function consentUrl(state: string, mode: "popup" | "post_message" = "popup"): string {
  const { clientId } = requireKommoCredentials();
  return `${CONSENT_URL}?${new URLSearchParams({ client_id: clientId, state, mode })}`;
}
