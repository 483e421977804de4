// Which function runs the jobs of which queue. Domain modules own the handlers; this is the index.
import { handleActivityPollJob } from "@/lib/activity/poll";
import { handleBackfillJob } from "@/lib/backfill/run";
import { handlePruneSyncLogJob } from "@/lib/dashboard/retention";
import { handleKommoInstallJob } from "@/lib/kommo/install-job";
import { handleReconcileJob } from "@/lib/reconcile/reconcile";
import { handleSyncLeadJob } from "@/lib/sync/sync-lead";
import { handleAccountTickJob } from "./account-tick";
import { QUEUES } from "./queues";
import type { JobHandler } from "./worker";

export const jobHandlers: Partial<Record<string, JobHandler>> = {
  [QUEUES.kommoInstall.name]: handleKommoInstallJob,
  [QUEUES.syncLead.name]: handleSyncLeadJob,
  [QUEUES.pruneSyncLog.name]: handlePruneSyncLogJob,
  [QUEUES.accountTick.name]: handleAccountTickJob,
  [QUEUES.activityPoll.name]: handleActivityPollJob,
  [QUEUES.reconcile.name]: handleReconcileJob,
  [QUEUES.backfill.name]: handleBackfillJob,
};
