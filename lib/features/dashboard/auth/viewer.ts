// Who is looking at the dashboard. A session (next-auth JWT) names a Kommo user of one Kommo
// account and whether they administer it; whether they are an operator is decided on every
// request from OPERATOR_EMAILS, so that removing someone from the list takes effect at once.
import { z } from "zod";
import type { Env } from "@/lib/platform/env";

/** The claims this product puts into next-auth's session JWT (see options.ts, jwt callback). */
export const sessionClaimsSchema = z.object({
  kommoAccountId: z.number().int().positive(),
  kommoUserId: z.number().int().positive(),
  isAdmin: z.boolean(),
  name: z.string().nullish(),
  email: z.string().nullish(),
  /** "kommo": Sign in with Kommo; "widget": opened from the widget's advanced settings in Kommo. */
  via: z.enum(["kommo", "widget"]),
});
export type SessionClaims = z.infer<typeof sessionClaimsSchema>;

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

/** Operators are recognised by the e-mail Kommo gave at sign-in; a widget session carries none. */
export function isOperatorEmail(email: string | null | undefined, env: Pick<Env, "OPERATOR_EMAILS">): boolean {
  return Boolean(email) && env.OPERATOR_EMAILS.includes(email!.trim().toLowerCase());
}

export function viewerFromClaims(claims: SessionClaims, env: Pick<Env, "OPERATOR_EMAILS">): Viewer {
  return {
    kommoAccountId: claims.kommoAccountId,
    kommoUserId: claims.kommoUserId,
    name: claims.name ?? null,
    email: claims.email ?? null,
    isAdmin: claims.isAdmin,
    operator: claims.via === "kommo" && isOperatorEmail(claims.email, env),
    via: claims.via,
  };
}
