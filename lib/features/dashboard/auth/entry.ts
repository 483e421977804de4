// The widget's door into the dashboard. Inside Kommo (the widget's advanced settings page) the
// user is already proven by Kommo's one-time token (X-Auth-Token), so instead of a second OAuth
// round trip the widget asks POST /api/widget/dashboard-link for a short-lived signed link, and
// GET /dashboard/enter?ticket=… turns it into a dashboard session for that account's admin.
//
// The ticket is a JWT (HS256) under a key derived from AUTH_SECRET for this purpose only, valid
// for a minute, for this audience only, and good for one session: its `jti` is recorded with the
// session it opens (sessions.ts), so a ticket seen in a history, a log or over a shoulder opens
// nothing a second time. It goes into a URL, so it carries ids, never a secret.
import { createHmac, randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { db } from "@/lib/db/client";
import { getEnv, type Env } from "@/lib/platform/env";
import type { CookieToSet } from "./cookies";
import { EntryTicketUsedError, openSession } from "./sessions";
import type { SessionClaims } from "./viewer";

export const ENTRY_TICKET_TTL_SECONDS = 60;
const AUDIENCE = "klaviyo-sync/dashboard-entry";
export const ENTRY_PATH = "/dashboard/enter";

const ticketKey = (env: Env) => createHmac("sha256", env.AUTH_SECRET).update("dashboard entry ticket v1").digest();

const ticketClaimsSchema = z.object({
  jti: z.uuid(),
  account_id: z.number().int().positive(),
  user_id: z.number().int().positive(),
  /** When Kommo vouched for the admin right (the widget token's `iat`), in seconds. */
  rights_at: z.number().int().positive(),
});

export type EntryTicketInput = { kommoAccountId: number; kommoUserId: number; rightsCheckedAt: Date };

export async function entryLink(input: EntryTicketInput, env: Env = getEnv(), now = new Date()): Promise<{ url: string; expiresAt: Date }> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const ticket = await new SignJWT({ account_id: input.kommoAccountId, user_id: input.kommoUserId, rights_at: Math.floor(input.rightsCheckedAt.getTime() / 1000) })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(env.APP_URL)
    .setAudience(AUDIENCE)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ENTRY_TICKET_TTL_SECONDS)
    .sign(ticketKey(env));
  return { url: `${env.APP_URL}${ENTRY_PATH}?${new URLSearchParams({ ticket })}`, expiresAt: new Date((issuedAt + ENTRY_TICKET_TTL_SECONDS) * 1000) };
}

export type TicketCheck =
  | { ok: true; ticketId: string; claims: SessionClaims; rightsCheckedAt: Date }
  | { ok: false; reason: "expired" | "invalid" };

/** The session a ticket grants: an admin of that Kommo account, signed in through the widget. */
export async function verifyEntryTicket(ticket: string | null, env: Env = getEnv()): Promise<TicketCheck> {
  if (!ticket || ticket.length > 2048) return { ok: false, reason: "invalid" };
  try {
    const { payload } = await jwtVerify(ticket, ticketKey(env), { algorithms: ["HS256"], audience: AUDIENCE, issuer: env.APP_URL, requiredClaims: ["exp", "jti"] });
    const claims = ticketClaimsSchema.safeParse(payload);
    if (!claims.success) return { ok: false, reason: "invalid" };
    return {
      ok: true,
      ticketId: claims.data.jti,
      claims: { kommoAccountId: claims.data.account_id, kommoUserId: claims.data.user_id, isAdmin: true, via: "widget" },
      rightsCheckedAt: new Date(claims.data.rights_at * 1000),
    };
  } catch (error) {
    return { ok: false, reason: error instanceof joseErrors.JWTExpired ? "expired" : "invalid" };
  }
}

export type Entry = { ok: true; accountId: string; cookie: CookieToSet } | { ok: false; reason: "session_expired" | "not_installed" | "link_used" };

/** GET /dashboard/enter: a valid, unused ticket of an installed account becomes a session. */
export async function enterWithTicket(ticket: string | null, env: Env = getEnv(), now = new Date()): Promise<Entry> {
  const check = await verifyEntryTicket(ticket, env);
  if (!check.ok) return { ok: false, reason: "session_expired" };
  const account = await db().account.findUnique({ where: { kommoAccountId: check.claims.kommoAccountId }, select: { id: true, status: true } });
  if (!account || account.status === "disconnected") return { ok: false, reason: "not_installed" };
  try {
    // Never later than now, whatever Kommo's clock said.
    const rightsCheckedAt = new Date(Math.min(check.rightsCheckedAt.getTime(), now.getTime()));
    const cookie = await openSession(check.claims, { entryTicketId: check.ticketId, rightsCheckedAt }, env, now);
    return { ok: true, accountId: account.id, cookie };
  } catch (error) {
    if (error instanceof EntryTicketUsedError) return { ok: false, reason: "link_used" };
    throw error;
  }
}
