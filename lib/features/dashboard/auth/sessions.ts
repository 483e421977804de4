// Dashboard sessions, kept in the database (DashboardSession) so that the server decides, on every
// request, whether a session still holds:
//  - it ends SESSION_LIFETIME_SECONDS after the sign-in, whatever happens meanwhile: nothing
//    refreshes or extends it;
//  - an administrator's right is read from Kommo again once it is an hour old; a user who is no
//    longer an admin is signed out, and when Kommo cannot be asked the request is refused;
//  - signing out ends it on the server, not only in this browser;
//  - a widget entry ticket opens one session, once (entry.ts).
// The browser holds a random token; the table only its SHA-256. Pages, server actions and API
// routes all read the session here.
import { createHash, randomBytes } from "node:crypto";
import { cookies } from "next/headers";
import { cache } from "react";
import { db, Prisma, type DashboardSession } from "@/lib/db/client";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { getEnv, type Env } from "@/lib/platform/env";
import { logger } from "@/lib/platform/log";
import { cookieOptions, readCookie, sessionCookieName, type CookieToSet } from "./cookies";
import { viewerFromClaims, type SessionClaims, type Viewer } from "./viewer";

export const SESSION_LIFETIME_SECONDS = 8 * 60 * 60;
export const ADMIN_RIGHT_MAX_AGE_SECONDS = 60 * 60;

const hashOf = (token: string) => createHash("sha256").update(token).digest("base64url");

export class EntryTicketUsedError extends Error {
  constructor() {
    super("this entry ticket has already opened a session");
    this.name = "EntryTicketUsedError";
  }
}

export type SessionOptions = {
  /** When Kommo last said the user is an admin (default: now, as at a Kommo sign-in). */
  rightsCheckedAt?: Date;
  /** The widget entry ticket (`jti`) opening this session; a ticket used before is refused. */
  entryTicketId?: string;
};

/** Opens a session and returns the cookie that carries it. */
export async function openSession(claims: SessionClaims, options: SessionOptions = {}, env: Env = getEnv(), now = new Date()): Promise<CookieToSet> {
  const token = randomBytes(32).toString("base64url");
  // Sessions that ran out are cleared on the way, so the table holds live ones (and the entry
  // tickets they used, long after those tickets expired).
  await db().dashboardSession.deleteMany({ where: { expiresAt: { lt: now } } });
  try {
    await db().dashboardSession.create({
      data: {
        tokenHash: hashOf(token),
        kommoAccountId: claims.kommoAccountId,
        kommoUserId: claims.kommoUserId,
        via: claims.via,
        name: claims.name ?? null,
        email: claims.email ?? null,
        isAdmin: claims.isAdmin,
        rightsCheckedAt: options.rightsCheckedAt ?? now,
        entryTicketId: options.entryTicketId ?? null,
        createdAt: now,
        expiresAt: new Date(now.getTime() + SESSION_LIFETIME_SECONDS * 1000),
      },
    });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002" && options.entryTicketId) throw new EntryTicketUsedError();
    throw error;
  }
  return { name: sessionCookieName(env), value: token, options: cookieOptions(env, SESSION_LIFETIME_SECONDS) };
}

/** Ends the session of this token (sign-out); its row stays until it expires. */
export async function endSession(token: string | undefined, now = new Date()): Promise<void> {
  if (!token) return;
  await db().dashboardSession.updateMany({ where: { tokenHash: hashOf(token), endedAt: null }, data: { endedAt: now } });
}

const claimsOf = (row: DashboardSession): SessionClaims => ({
  kommoAccountId: Number(row.kommoAccountId),
  kommoUserId: Number(row.kommoUserId),
  isAdmin: row.isAdmin,
  name: row.name,
  email: row.email,
  via: row.via,
});

/** Whether Kommo says this user administers the account, read with the installed account's token; null: Kommo could not be asked. */
async function isAdminInKommo(claims: SessionClaims): Promise<boolean | null> {
  const account = await db().account.findUnique({ where: { kommoAccountId: claims.kommoAccountId }, select: { id: true, status: true } });
  if (!account || account.status === "disconnected") return false;
  try {
    const user = (await (await kommoClientFor(account.id)).getUsers()).find((candidate) => candidate.id === claims.kommoUserId);
    return user?.rights?.is_admin === true && user.rights.is_active !== false;
  } catch (error) {
    logger().warn({ kommoAccountId: claims.kommoAccountId, reason: error instanceof Error ? error.message : String(error) }, "dashboard: could not read a user's admin right from Kommo");
    return null;
  }
}

/** The viewer of a session token, or null when it is unknown, ended, expired or no longer backed by Kommo. */
export async function viewerFromSessionToken(token: string | undefined, env: Env = getEnv(), now = new Date()): Promise<Viewer | null> {
  if (!token || token.length > 128) return null;
  const row = await db().dashboardSession.findUnique({ where: { tokenHash: hashOf(token) } });
  if (!row || row.endedAt || row.expiresAt <= now) return null;
  const claims = claimsOf(row);
  const viewer = viewerFromClaims(claims, env);
  // An operator's access does not rest on an admin right; a non-admin session grants nothing to re-check.
  if (viewer.operator || !claims.isAdmin || now.getTime() - row.rightsCheckedAt.getTime() < ADMIN_RIGHT_MAX_AGE_SECONDS * 1000) return viewer;
  const admin = await isAdminInKommo(claims);
  if (admin === null) return null;
  if (!admin) {
    logger().info({ kommoAccountId: claims.kommoAccountId, kommoUserId: claims.kommoUserId }, "dashboard: signed out a user who is no longer an admin in Kommo");
    await db().dashboardSession.update({ where: { tokenHash: row.tokenHash }, data: { endedAt: now } });
    return null;
  }
  await db().dashboardSession.update({ where: { tokenHash: row.tokenHash }, data: { rightsCheckedAt: now } });
  return viewer;
}

/** The viewer of a route handler's request (API routes). */
export function viewerFromRequest(request: Request, env: Env = getEnv(), now = new Date()): Promise<Viewer | null> {
  return viewerFromSessionToken(readCookie(request.headers.get("cookie"), sessionCookieName(env)), env, now);
}

/** The viewer of the current page render or server action (read once per render: layout and page share it). */
export const currentViewer = cache(async (): Promise<Viewer | null> => {
  const env = getEnv();
  return viewerFromSessionToken((await cookies()).get(sessionCookieName(env))?.value, env);
});
