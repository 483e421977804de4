// Which function runs the jobs of which queue. Domain modules own the handlers; this is the index.
import { handleActivityPollJob } from "@/lib/features/activity/poll";
import { handleBackfillJob } from "@/lib/features/backfill/run";
import { handlePruneSyncLogJob } from "@/lib/features/dashboard/retention";
import { handleKommoInstallJob } from "@/lib/features/install/install-job";
import { handleReconcileJob } from "@/lib/features/reconcile/reconcile";
import { handleSyncLeadJob } from "@/lib/features/sync/sync-lead";
import { handleAccountTickJob } from "@/lib/features/schedule/account-tick";
import { QUEUES } from "@/lib/jobs/queues";
import type { JobHandler } from "@/lib/jobs/worker";

export const jobHandlers: Partial<Record<string, JobHandler>> = {
  [QUEUES.kommoInstall.name]: handleKommoInstallJob,
  [QUEUES.syncLead.name]: handleSyncLeadJob,
  [QUEUES.pruneSyncLog.name]: handlePruneSyncLogJob,
  [QUEUES.accountTick.name]: handleAccountTickJob,
  [QUEUES.activityPoll.name]: handleActivityPollJob,
  [QUEUES.reconcile.name]: handleReconcileJob,
  [QUEUES.backfill.name]: handleBackfillJob,
};
