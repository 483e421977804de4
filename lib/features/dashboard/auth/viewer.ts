// Who is looking at the dashboard. A session names a Kommo user of one Kommo account and whether
// they administer it (sessions.ts). Operators are fixed Kommo identities, OPERATOR_KOMMO_USERS: an
// account id and a user id are assigned by Kommo and prove who signed in, while an e-mail is
// whatever an admin of any Kommo account typed into a user's profile, so anyone could have made a
// user "ops@our-company" in an account of their own. E-mails are shown, never trusted.
import type { Env } from "@/lib/platform/env";

/** What a session holds about its user. */
export type SessionClaims = {
  kommoAccountId: number;
  kommoUserId: number;
  isAdmin: boolean;
  name?: string | null;
  email?: string | null;
  /** "kommo": Sign in with Kommo; "widget": opened from the widget's advanced settings in Kommo. */
  via: "kommo" | "widget";
};

export type Viewer = {
  kommoAccountId: number;
  kommoUserId: number;
  name: string | null;
  email: string | null;
  /** Administrator of the Kommo account `kommoAccountId`: sees that account. */
  isAdmin: boolean;
  /** Runs this backend: sees every account. */
  operator: boolean;
  via: SessionClaims["via"];
};

/**
 * An operator is a listed Kommo identity that signed in with Kommo; the list is read on every
 * request, so removing someone takes effect at once. The widget's door never makes an operator.
 */
export function isOperator(user: Pick<SessionClaims, "kommoAccountId" | "kommoUserId" | "via">, env: Pick<Env, "OPERATOR_KOMMO_USERS">): boolean {
  return user.via === "kommo" && env.OPERATOR_KOMMO_USERS.some((operator) => operator.accountId === user.kommoAccountId && operator.userId === user.kommoUserId);
}

export function viewerFromClaims(claims: SessionClaims, env: Pick<Env, "OPERATOR_KOMMO_USERS">): Viewer {
  return {
    kommoAccountId: claims.kommoAccountId,
    kommoUserId: claims.kommoUserId,
    name: claims.name ?? null,
    email: claims.email ?? null,
    isAdmin: claims.isAdmin,
    operator: isOperator(claims, env),
    via: claims.via,
  };
}
