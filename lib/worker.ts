// Every job of the product, each defined in its feature (defineJob). The workers run these; the
// migration creates their queues from the same list.
import { activityPollJob } from "@/lib/features/activity/poll";
import { accountLocaleJob } from "@/lib/features/install/account-locale";
import { backfillJob } from "@/lib/features/backfill/backfill-job";
import { pruneSyncLogJob } from "@/lib/features/dashboard/retention";
import { kommoInstallJob } from "@/lib/features/install/install-job";
import { pruneDoorStateJob } from "@/lib/features/install/door";
import { refreshIdleTokensJob } from "@/lib/features/schedule/keep-tokens-alive";
import { reconcileJob } from "@/lib/features/reconcile/reconcile";
import { accountTickJob } from "@/lib/features/schedule/account-tick";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";
import { digitalPipelineJob } from "@/lib/features/digital-pipeline/action-job";
import { consentContactJob } from "@/lib/features/consent/contact-job";
import { consentWriteJob } from "@/lib/features/consent/write-job";
import type { Job } from "@/lib/jobs/define-job";

export const ALL_JOBS = [
  syncLeadJob,
  kommoInstallJob,
  pruneSyncLogJob,
  pruneDoorStateJob,
  refreshIdleTokensJob,
  accountTickJob,
  activityPollJob,
  reconcileJob,
  backfillJob,
  digitalPipelineJob,
  consentContactJob,
  consentWriteJob,
  accountLocaleJob,
] as readonly Job[];

/** The queues a healthy installation has (the dead-letter queue besides). */
export const JOB_NAMES: readonly string[] = ALL_JOBS.map((job) => job.name);
