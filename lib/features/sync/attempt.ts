// A sync attempt's row in the sync log, as the jobs that act on a deal (the deal sync, the Digital
// Pipeline action) write it when they finish: what they did, how it ended, what it cost.
import type { SyncStatus } from "@/lib/db/client";
import type { SyncAttempt } from "@/lib/db/sync-log";
import type { KlaviyoClient } from "@/lib/integrations/klaviyo";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import type { ErrorCode, SkipReason } from "@/lib/outcomes";
import type { AppliedOperation } from "./apply";

export type AttemptOutcome = {
  status: SyncStatus;
  operations: AppliedOperation[];
  error?: string;
  /** An error code for a failed attempt, the skip reason for a skipped one. */
  errorCode?: ErrorCode | SkipReason;
};

export type AttemptContext = {
  accountId: string;
  leadId: number;
  trigger: string;
  /** 1 on the first run of the job. */
  attempt: number;
  jobId: string;
  startedAt: Date;
  /** The clients the attempt made, if it got that far: their calls count, retries included. */
  kommo?: KommoClient;
  klaviyo?: KlaviyoClient;
};

/** The finished attempt's log row; finished now. */
export function finishedAttempt(context: AttemptContext, outcome: AttemptOutcome): SyncAttempt {
  return {
    accountId: context.accountId,
    leadId: context.leadId,
    trigger: context.trigger,
    status: outcome.status,
    operations: outcome.operations,
    error: outcome.error ?? null,
    errorCode: outcome.errorCode ?? null,
    attempt: context.attempt,
    jobId: context.jobId,
    kommoCalls: context.kommo?.requestCount ?? 0,
    klaviyoCalls: context.klaviyo?.calls ?? 0,
    startedAt: context.startedAt,
    finishedAt: new Date(),
  };
}
