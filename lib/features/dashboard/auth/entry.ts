// The widget's door into the dashboard. Inside Kommo (the widget's advanced settings page) the
// user is already proven by Kommo's one-time token (X-Auth-Token), so instead of a second OAuth
// round trip the widget asks POST /api/widget/dashboard-link for a short-lived signed link, and
// GET /dashboard/enter?ticket=… turns it into a dashboard session for that account's admin.
//
// The ticket is a JWT (HS256) under a key derived from AUTH_SECRET for this purpose only, valid
// for a minute, for this audience only. It goes into a URL, so it carries ids, never a secret.
import { createHmac, randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { getEnv, type Env } from "@/lib/platform/env";
import type { SessionClaims } from "./viewer";

export const ENTRY_TICKET_TTL_SECONDS = 60;
const AUDIENCE = "klaviyo-sync/dashboard-entry";
export const ENTRY_PATH = "/dashboard/enter";

const ticketKey = (env: Env) => createHmac("sha256", env.AUTH_SECRET).update("dashboard entry ticket v1").digest();

const ticketClaimsSchema = z.object({
  account_id: z.number().int().positive(),
  user_id: z.number().int().positive(),
});

export type EntryTicketInput = { kommoAccountId: number; kommoUserId: number };

export async function entryLink(input: EntryTicketInput, env: Env = getEnv(), now = new Date()): Promise<{ url: string; expiresAt: Date }> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const ticket = await new SignJWT({ account_id: input.kommoAccountId, user_id: input.kommoUserId })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(env.APP_URL)
    .setAudience(AUDIENCE)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ENTRY_TICKET_TTL_SECONDS)
    .sign(ticketKey(env));
  return { url: `${env.APP_URL}${ENTRY_PATH}?${new URLSearchParams({ ticket })}`, expiresAt: new Date((issuedAt + ENTRY_TICKET_TTL_SECONDS) * 1000) };
}

export type TicketCheck = { ok: true; claims: SessionClaims } | { ok: false; reason: "expired" | "invalid" };

/** The session claims a ticket grants: an admin of that Kommo account, signed in through the widget. */
export async function verifyEntryTicket(ticket: string | null, env: Env = getEnv()): Promise<TicketCheck> {
  if (!ticket || ticket.length > 2048) return { ok: false, reason: "invalid" };
  try {
    const { payload } = await jwtVerify(ticket, ticketKey(env), { algorithms: ["HS256"], audience: AUDIENCE, issuer: env.APP_URL, requiredClaims: ["exp", "jti"] });
    const claims = ticketClaimsSchema.safeParse(payload);
    if (!claims.success) return { ok: false, reason: "invalid" };
    return { ok: true, claims: { kommoAccountId: claims.data.account_id, kommoUserId: claims.data.user_id, isAdmin: true, via: "widget" } };
  } catch (error) {
    return { ok: false, reason: error instanceof joseErrors.JWTExpired ? "expired" : "invalid" };
  }
}
