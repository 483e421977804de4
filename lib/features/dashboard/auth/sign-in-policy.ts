// Who may sign in to the dashboard: operators (OPERATOR_EMAILS) always; anyone else only as an
// administrator of a Kommo account that has the integration installed. Everyone else is turned
// away at the door with a reason the sign-in page explains (see SIGN_IN_ERRORS).
import { db } from "@/lib/db/client";
import type { Env } from "@/lib/platform/env";
import type { KommoSignInProfile } from "./kommo-provider";
import { isOperatorEmail } from "./viewer";

export type SignInRefusal = "not_admin" | "not_installed";

export async function signInRefusal(profile: KommoSignInProfile, env: Pick<Env, "OPERATOR_EMAILS">): Promise<SignInRefusal | null> {
  if (isOperatorEmail(profile.userEmail, env)) return null;
  if (!profile.isAdmin) return "not_admin";
  const account = await db().account.findUnique({ where: { kommoAccountId: profile.kommoAccountId }, select: { status: true } });
  if (!account || account.status === "disconnected") return "not_installed";
  return null;
}

/** What the sign-in page says for each `?error=` (ours, and next-auth's own codes). */
export const SIGN_IN_ERRORS: Record<string, string> = {
  not_admin:
    "Only administrators of the Kommo account can open this dashboard. Ask an administrator of your Kommo account, or open it from Kommo (Settings, Integrations, Klaviyo Sync).",
  not_installed:
    "Klaviyo Sync is not installed in this Kommo account. Install it from the Kommo marketplace first, then sign in again.",
  OAuthCallback: "Kommo did not complete the sign-in (the code was refused or Kommo could not be reached). Please try again.",
  OAuthSignin: "The sign-in could not be started. Please try again.",
  access_denied: "You declined access in Kommo, so you were not signed in.",
  AccessDenied: "You declined access in Kommo, so you were not signed in.",
  SessionRequired: "Please sign in to see this page.",
  session_expired: "Your sign-in link has expired. Open the dashboard again from Kommo, or sign in with Kommo below.",
};

export const signInErrorMessage = (code: string | undefined) =>
  code ? (SIGN_IN_ERRORS[code] ?? "The sign-in did not succeed. Please try again.") : null;
