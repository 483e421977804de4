// The sync-lead jobs of an account: enqueued one per lead (policy "short" keeps at most one queued
// job per lead), replayed for pending changes after a reinstall.
import type PgBoss from "pg-boss";
import { leadsWithPendingEvents } from "@/lib/db/inbound-events";
import { syncLeadJob } from "./sync-lead";

export const syncLeadSingletonKey = (accountId: string, leadId: number) => `${accountId}:${leadId}`;

/**
 * Enqueue a sync per lead; a lead that already has a queued job is left alone (that job reads every
 * pending change). With `inTransaction`, the jobs commit or roll back with the caller's writes.
 */
export async function enqueueLeadSyncs(accountId: string, leadIds: Iterable<number>, inTransaction?: PgBoss.Db): Promise<void> {
  const jobs = [...new Set(leadIds)].map((leadId) => ({ payload: { accountId, leadId }, singletonKey: syncLeadSingletonKey(accountId, leadId) }));
  await syncLeadJob.sendMany(jobs, { db: inTransaction });
}

/** Leads with changes that arrived but were never processed (e.g. while the account needed re-authorization). */
export async function enqueuePendingLeadSyncs(accountId: string): Promise<number> {
  const leadIds = await leadsWithPendingEvents(accountId);
  await enqueueLeadSyncs(accountId, leadIds);
  return leadIds.length;
}
