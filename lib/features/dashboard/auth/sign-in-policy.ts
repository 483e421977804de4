// Who may sign in to the dashboard: operators (OPERATOR_KOMMO_USERS) always; anyone else only as an
// administrator of a Kommo account that has the integration installed. Everyone else is turned
// away at the door with a reason the sign-in page explains (SIGN_IN_ERRORS).
import { db } from "@/lib/db/client";
import type { Env } from "@/lib/platform/env";
import { isOperator } from "./viewer";

export const SIGN_IN_PAGE = "/dashboard/sign-in";

export type SignInRefusal = "not_admin" | "not_installed";

export type SignInCandidate = { kommoAccountId: number; kommoUserId: number; isAdmin: boolean };

export async function signInRefusal(user: SignInCandidate, env: Pick<Env, "OPERATOR_KOMMO_USERS">): Promise<SignInRefusal | null> {
  if (isOperator({ ...user, via: "kommo" }, env)) return null;
  if (!user.isAdmin) return "not_admin";
  const account = await db().account.findUnique({ where: { kommoAccountId: user.kommoAccountId }, select: { status: true } });
  if (!account || account.status === "disconnected") return "not_installed";
  return null;
}

/** What the sign-in page says for each `?error=`. */
export const SIGN_IN_ERRORS: Record<string, string> = {
  not_admin:
    "Only administrators of the Kommo account can open this dashboard. Ask an administrator of your Kommo account, or open it from Kommo (Settings, Integrations, Klaviyo Sync).",
  not_installed:
    "Klaviyo Sync is not installed in this Kommo account. Install it from the Kommo marketplace first, then sign in again.",
  kommo_failed: "Kommo did not complete the sign-in (the code was refused or Kommo could not be reached). Please try again.",
  sign_in_expired: "This sign-in was started in another browser or too long ago. Please sign in again.",
  access_denied: "You declined access in Kommo, so you were not signed in.",
  session_required: "Please sign in to see this page.",
  session_expired: "Your sign-in link has expired. Open the dashboard again from Kommo, or sign in with Kommo below.",
  link_used: "This sign-in link was already used; each one opens the dashboard once. Open the dashboard again from Kommo, or sign in with Kommo below.",
};

export const signInErrorMessage = (code: string | undefined) =>
  code ? (SIGN_IN_ERRORS[code] ?? "The sign-in did not succeed. Please try again.") : null;

/** Where to go after signing in: a page of this dashboard, never another site or the sign-in page itself. */
export function safeReturnPath(value: unknown): string {
  return typeof value === "string" && /^\/dashboard(\/[A-Za-z0-9_-]+)*$/.test(value) && !value.startsWith(SIGN_IN_PAGE) ? value : "/dashboard";
}
