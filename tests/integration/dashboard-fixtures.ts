// Shared setup of the dashboard's integration tests: accounts and sync-log rows written straight
// into the database (the dashboard only reads them), and session cookies as next-auth sets them.
import { randomInt, randomUUID } from "node:crypto";
import { db, numberIds } from "@/lib/db/client";
import type { AuthorizedAccount } from "@/lib/features/dashboard/access";
import { sessionCookie } from "@/lib/features/dashboard/auth/session";
import type { SessionClaims } from "@/lib/features/dashboard/auth/viewer";
import { sql } from "./kommo-fixtures";

/** An installed account row without a Kommo behind it (for tests that never call Kommo). */
export async function createAccountRow(input: { name?: string; paused?: boolean; klaviyoKeyHint?: string } = {}): Promise<AuthorizedAccount> {
  const kommoAccountId = randomInt(20_000_000, 2_000_000_000);
  const account = await db().account.create({
    data: {
      kommoAccountId,
      subdomain: `dash${kommoAccountId}`,
      host: `dash${kommoAccountId}.kommo.com`,
      name: input.name ?? `Dashboard ${kommoAccountId}`,
      hookKey: randomUUID(),
      paused: input.paused ?? false,
      webhookRegisteredAt: new Date(),
      klaviyoKeyHint: input.klaviyoKeyHint ?? null,
    },
  });
  // Tests stand in for the authorization that pages and routes do.
  return numberIds(account) as AuthorizedAccount;
}

export type LogInput = {
  leadId: number;
  status: "ok" | "skipped" | "retrying" | "failed";
  createdAt: Date;
  error?: string;
  errorCode?: string;
  resolution?: string;
  durationMs?: number;
  kommoCalls?: number;
  klaviyoCalls?: number;
};

/** Sync-log rows as the sync job writes them (UTC timestamps, as Prisma stores them). */
export async function insertLogRows(accountId: string, rows: LogInput[]): Promise<string[]> {
  const ids: string[] = [];
  for (const row of rows) {
    const id = randomUUID();
    ids.push(id);
    await sql(
      `INSERT INTO "SyncLog" (id, "accountId", "leadId", trigger, status, error, "errorCode", resolution, "durationMs", "kommoCalls", "klaviyoCalls", "createdAt", "startedAt")
       VALUES ($1, $2, $3, 'status_lead', $4::"SyncStatus", $5, $6, $7, $8, $9, $10, $11::timestamptz, $11::timestamptz)`,
      [id, accountId, row.leadId, row.status, row.error ?? null, row.errorCode ?? null, row.resolution ?? null, row.durationMs ?? 100, row.kommoCalls ?? 0, row.klaviyoCalls ?? 0, row.createdAt.toISOString()],
    );
  }
  return ids;
}

/** The Cookie header of a signed-in browser. */
export async function cookieFor(claims: SessionClaims): Promise<string> {
  const cookie = await sessionCookie(claims);
  return `${cookie.name}=${cookie.value}`;
}

export const adminOf = (kommoAccountId: number, overrides: Partial<SessionClaims> = {}): SessionClaims => ({
  kommoAccountId,
  kommoUserId: 1001,
  isAdmin: true,
  name: "Admin",
  email: `admin@${kommoAccountId}.example`,
  via: "kommo",
  ...overrides,
});
