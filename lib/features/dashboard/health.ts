// How each account is doing, for the overview and the account page: last sync, outcomes and error
// rate over the last 24 hours, jobs waiting in the queue, open failures grouped by cause, Kommo
// token health and the latest backfill. Every number is read from the database, so it is the same
// whichever web process answers and however many workers there are.
import { db, type BackfillRun, type SyncStatus } from "@/lib/db/client";
import { countLeadsWithPendingEvents } from "@/lib/db/inbound-events";
import { lastSyncTimes, openFailureGroups, syncOutcomeCounts } from "@/lib/db/sync-log";
import { queueLoadByAccount } from "@/lib/jobs/queue-state";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";
import type { AuthorizedAccount } from "./access";

export const ERROR_RATE_WINDOW_HOURS = 24;

export type FailureGroup = {
  errorCode: string;
  /** Deals with an open failure of this cause. */
  deals: number;
  lastAt: Date;
  /** The newest message of this cause, as the sync wrote it (actionable, never a secret). */
  example: string;
};

export type AccountHealth = {
  accountId: string;
  lastSyncAt: Date | null;
  lastOkAt: Date | null;
  last24h: Record<SyncStatus, number>;
  /** Share of finished syncs in the window that failed for good, 0..1; null without syncs. */
  errorRate: number | null;
  queue: { waiting: number; running: number };
  openFailures: { deals: number; groups: FailureGroup[] };
  backfill: Pick<BackfillRun, "status" | "total" | "done" | "errors" | "lastError" | "startedAt" | "finishedAt"> | null;
  token: TokenHealth;
};

export type TokenHealth =
  | { state: "ok"; expiresAt: Date | null }
  | { state: "needs_reauth" | "disconnected"; reason: string | null };

export function tokenHealth(account: Pick<AuthorizedAccount, "status" | "statusReason" | "accessTokenExpiresAt">): TokenHealth {
  if (account.status === "installed") return { state: "ok", expiresAt: account.accessTokenExpiresAt };
  return { state: account.status, reason: account.statusReason };
}

export async function accountsHealth(accounts: AuthorizedAccount[]): Promise<Map<string, AccountHealth>> {
  const result = new Map<string, AccountHealth>();
  if (accounts.length === 0) return result;
  const ids = accounts.map((account) => account.id);
  const [counts, lasts, queues, groups, backfills] = await Promise.all([
    syncOutcomeCounts(ids, new Date(Date.now() - ERROR_RATE_WINDOW_HOURS * 3600_000)),
    lastSyncTimes(ids),
    queueLoadByAccount(syncLeadJob.name, ids),
    openFailureGroups(ids),
    db().backfillRun.findMany({ where: { accountId: { in: ids } }, orderBy: { createdAt: "desc" }, distinct: ["accountId"] }),
  ]);

  for (const account of accounts) {
    const last24h: Record<SyncStatus, number> = { ok: 0, skipped: 0, retrying: 0, failed: 0 };
    for (const row of counts) if (row.accountId === account.id) last24h[row.status] = row.count;
    const finished = last24h.ok + last24h.skipped + last24h.failed;
    const last = lasts.find((row) => row.accountId === account.id);
    const queue = queues.get(account.id);
    const accountGroups: FailureGroup[] = groups
      .filter((row) => row.accountId === account.id)
      .map((row) => ({ errorCode: row.errorCode ?? "internal", deals: row.deals, lastAt: row.lastAt, example: row.example ?? "" }));
    const backfill = backfills.find((run) => run.accountId === account.id) ?? null;
    result.set(account.id, {
      accountId: account.id,
      lastSyncAt: last?.lastSyncAt ?? null,
      lastOkAt: last?.lastOkAt ?? null,
      last24h,
      errorRate: finished > 0 ? last24h.failed / finished : null,
      queue: { waiting: queue?.waiting ?? 0, running: queue?.running ?? 0 },
      openFailures: { deals: accountGroups.reduce((sum, group) => sum + group.deals, 0), groups: accountGroups },
      backfill,
      token: tokenHealth(account),
    });
  }
  return result;
}

export async function accountHealth(account: AuthorizedAccount): Promise<AccountHealth> {
  return (await accountsHealth([account])).get(account.id)!;
}

/** Deals with changes that arrived but were not synced yet (shown while an account is paused). */
export function pendingDeals(account: AuthorizedAccount): Promise<number> {
  return countLeadsWithPendingEvents(account.id);
}
