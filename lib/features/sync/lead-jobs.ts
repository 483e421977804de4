// The sync-lead jobs of an account: enqueued one per lead (policy "short" keeps at most one queued
// job per lead), replayed for pending changes after a reinstall.
import type PgBoss from "pg-boss";
import { leadsWithPendingEvents } from "@/lib/db/inbound-events";
import { senderBoss } from "@/lib/jobs/boss";
import { QUEUES } from "@/lib/jobs/queues";

export type SyncLeadJobData = { accountId: string; leadId: number };

export const syncLeadSingletonKey = (accountId: string, leadId: number) => `${accountId}:${leadId}`;

export function syncLeadJobs(accountId: string, leadIds: Iterable<number>): PgBoss.JobInsert<SyncLeadJobData>[] {
  return [...new Set(leadIds)].map((leadId) => ({
    name: QUEUES.syncLead.name,
    data: { accountId, leadId },
    singletonKey: syncLeadSingletonKey(accountId, leadId),
  }));
}

/**
 * Enqueue a sync per lead; a lead that already has a queued job is left alone (that job reads every
 * pending change). With `inTransaction`, the jobs commit or roll back with the caller's writes.
 */
export async function enqueueLeadSyncs(accountId: string, leadIds: Iterable<number>, inTransaction?: PgBoss.Db): Promise<void> {
  const jobs = syncLeadJobs(accountId, leadIds);
  if (jobs.length === 0) return;
  const boss = await senderBoss();
  await boss.insert(jobs, inTransaction ? { db: inTransaction } : {});
}

/** Leads with changes that arrived but were never processed (e.g. while the account needed re-authorization). */
export async function enqueuePendingLeadSyncs(accountId: string): Promise<number> {
  const leadIds = await leadsWithPendingEvents(accountId);
  await enqueueLeadSyncs(accountId, leadIds);
  return leadIds.length;
}
