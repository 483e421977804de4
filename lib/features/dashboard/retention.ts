// Retention of the sync log (and of expired contact-cache entries): rows older than SYNC_LOG_RETENTION_DAYS are deleted once a day, in
// batches so that no statement holds locks for long. Failures nobody has dealt with are kept
// whatever their age, because the dashboard offers them for replay; a failure that a later sync of
// the same deal covered is first marked "superseded", which makes it prunable like any other row.
import { deleteSettledRowsBefore, supersedeCoveredFailures } from "@/lib/db/sync-log";
import { getEnv } from "@/lib/platform/env";
import { z } from "zod";
import { defineJob } from "@/lib/jobs/define-job";
import { pruneContactCache } from "@/lib/features/sync/contact-cache";
import { pruneCompanyNames } from "@/lib/features/sync/company-cache";

export const PRUNE_BATCH_SIZE = 5_000;

export type PruneResult = { superseded: number; deleted: number };

export async function pruneSyncLog(options: { olderThanDays: number; now?: Date; batchSize?: number }): Promise<PruneResult> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.olderThanDays * 86_400_000);
  const batchSize = options.batchSize ?? PRUNE_BATCH_SIZE;
  const superseded = await supersedeCoveredFailures(cutoff);
  let deleted = 0;
  for (;;) {
    // Rows are written in time order, so the expired ones sit in the oldest block ranges of the
    // BRIN index; a batch shorter than the limit is the last.
    const count = await deleteSettledRowsBefore(cutoff, batchSize);
    deleted += count;
    if (count < batchSize) break;
  }
  return { superseded, deleted };
}

/** Daily at 03:17 UTC. The job carries no data: what to prune comes from the configuration. */
export const pruneSyncLogJob = defineJob({
  name: "prune-sync-log",
  payload: z.object({}),
  queue: { policy: "short", retryLimit: 2, retryDelay: 300, expireInSeconds: 1800 },
  concurrency: 1,
  cron: "17 3 * * *",
  run: async (_payload, context) => {
  const days = getEnv().SYNC_LOG_RETENTION_DAYS;
  const result = await pruneSyncLog({ olderThanDays: days });
  const contactCache = await pruneContactCache();
  const companyCache = await pruneCompanyNames();
  context.log.info({ ...result, retentionDays: days, expiredContacts: contactCache.count, expiredCompanies: companyCache.count }, "sync log pruned");
  },
});
