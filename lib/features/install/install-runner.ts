// Running an install for a caller that cannot wait long (Kommo's install call: 3 s, never resent).
//
// The answer goes out by `answerByMs` whatever happens; the work itself keeps going in this process
// up to `deadlineMs`, because cutting a token exchange short does not un-use the code: Kommo may
// already have spent it, and a replay would then fail for good. What the inline run cannot finish
// continues in the kommo-install queue from the step it reached. A delayed safety-net job, written
// before any work starts, covers a process that dies in between; it is cancelled as soon as the
// inline run knows the outcome.
import { logger } from "@/lib/platform/log";
import { KommoBudgetExceededError } from "@/lib/integrations/kommo/errors";
import { advanceInstall, type InstallProgress } from "./install";
import { enqueueInstall, kommoInstallJob } from "./install-job";

export type InstallTimings = {
  /** When the caller gets an answer at the latest ("pending" if the install is not done yet). */
  answerByMs: number;
  /** How long the inline run may go on in the background. */
  deadlineMs: number;
  /** When the safety-net job starts if nobody cancelled it; must exceed `deadlineMs`. */
  safetyNetDelaySeconds: number;
};

/** Kommo stops listening after 3 s; our answer must be on its way before that. */
export const WIDGET_INSTALL_TIMINGS: InstallTimings = { answerByMs: 2_300, deadlineMs: 25_000, safetyNetDelaySeconds: 60 };
/** A person in a browser waits longer than Kommo's server does. */
export const BROWSER_INSTALL_TIMINGS: InstallTimings = { answerByMs: 10_000, deadlineMs: 25_000, safetyNetDelaySeconds: 60 };

export type InstallResult =
  | { kind: "installed"; accountId: string; accountName: string | null; webhookRegistered: boolean }
  | { kind: "pending" }
  /** The budget of unverified exchanges is far in debt: the code was not sent to Kommo, try again later. */
  | { kind: "busy"; retryAfterSeconds: number }
  | { kind: "failed"; message: string };

async function cancelJob(jobId: string) {
  await kommoInstallJob.cancel(jobId);
}

async function runInline(progress: InstallProgress, safetyNetJobId: string, deadlineMs: number): Promise<InstallResult> {
  const log = logger().child({ module: "kommo-install" });
  try {
    const outcome = await advanceInstall(progress, AbortSignal.timeout(deadlineMs));
    if (outcome.done) {
      await cancelJob(safetyNetJobId);
      return { kind: "installed", accountId: outcome.accountId, accountName: outcome.accountName, webhookRegistered: outcome.webhookRegistered };
    }
    if (outcome.next.step === "exchange" && outcome.error instanceof KommoBudgetExceededError) {
      // Nothing was spent and nothing is owed: the caller is told to come back, no job keeps it.
      await cancelJob(safetyNetJobId);
      return { kind: "busy", retryAfterSeconds: outcome.error.retryAfterSeconds };
    }
    if (outcome.next.step !== progress.step) {
      // The code is spent; only the new state can finish the install.
      await enqueueInstall(outcome.next);
      await cancelJob(safetyNetJobId);
    }
    // Otherwise nothing was spent for sure: the safety-net job retries from the start.
    log.warn({ err: outcome.error, step: outcome.next.step }, "Kommo install continues in the kommo-install queue");
    return { kind: "pending" };
  } catch (error) {
    await cancelJob(safetyNetJobId).catch(() => undefined);
    log.error({ err: error }, "Kommo install failed");
    return { kind: "failed", message: error instanceof Error ? error.message : "unknown error" };
  }
}

export async function installWithin(progress: InstallProgress, timings: InstallTimings): Promise<InstallResult> {
  const safetyNetJobId = await enqueueInstall(progress, timings.safetyNetDelaySeconds);
  const inline = runInline(progress, safetyNetJobId, timings.deadlineMs).catch((error: unknown): InstallResult => {
    logger().error({ err: error }, "Kommo install bookkeeping failed; the safety-net job will finish it");
    return { kind: "pending" };
  });
  let timer: NodeJS.Timeout | undefined;
  const answerBy = new Promise<InstallResult>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "pending" }), timings.answerByMs);
  });
  try {
    return await Promise.race([inline, answerBy]);
  } finally {
    clearTimeout(timer);
  }
}
