// The sync-lead jobs of an account: enqueued one per lead (policy "short" keeps at most one queued
// job per lead), replayed for pending changes after a reinstall, dropped when access is revoked.
import type PgBoss from "pg-boss";
import { Prisma, db } from "@/lib/db/client";
import { QUEUE_SCHEMA } from "@/lib/jobs/boss";
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
  const pending = await db().inboundEvent.findMany({
    where: { accountId, processedAt: null, leadId: { not: null } },
    distinct: ["leadId"],
    select: { leadId: true },
  });
  const leadIds = pending.map((event) => event.leadId!);
  await enqueueLeadSyncs(accountId, leadIds);
  return leadIds.length;
}

/** Remove the account's sync jobs that have not started yet (running ones stop at their next Kommo call). */
export function dropQueuedLeadSyncs(accountId: string, client: Pick<Prisma.TransactionClient, "$executeRaw"> = db()) {
  const jobTable = Prisma.raw(`"${QUEUE_SCHEMA}".job`);
  return client.$executeRaw`
    DELETE FROM ${jobTable}
    WHERE name = ${syncLeadJob.name} AND state IN ('created', 'retry') AND data->>'accountId' = ${accountId}`;
}
