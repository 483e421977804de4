// The `kommo-install` job: installs that could not finish inside Kommo's 3-second install call.
import { defineJob, type JobContext } from "@/lib/jobs/define-job";
import { DEAD_LETTER_QUEUE } from "@/lib/jobs/queues";
import { advanceInstall, installProgressSchema, type InstallProgress } from "./install";

export const kommoInstallJob = defineJob({
  name: "kommo-install",
  payload: installProgressSchema,
  queue: { retryLimit: 6, retryDelay: 5, retryBackoff: true, expireInSeconds: 120, deadLetter: DEAD_LETTER_QUEUE },
  concurrency: 2,
  run: (progress, context) => runKommoInstallJob(progress, context),
});

/** Longer than any one step's calls, shorter than the queue's expiry (120 s). */
const JOB_DEADLINE_MS = 90_000;

/** Queue the rest of an install; `startAfterSeconds` delays it (the inline run's safety net). */
export async function enqueueInstall(progress: InstallProgress, startAfterSeconds?: number): Promise<string> {
  const id = await kommoInstallJob.send(progress, startAfterSeconds ? { startAfter: startAfterSeconds } : {});
  // pg-boss answers null instead of failing when the queue does not exist; an install must not vanish.
  if (!id) throw new Error(`The ${kommoInstallJob.name} queue is missing; run npm run db:migrate`);
  return id;
}

async function runKommoInstallJob(progress: InstallProgress, context: JobContext): Promise<void> {
  let outcome;
  try {
    outcome = await advanceInstall(progress, AbortSignal.timeout(JOB_DEADLINE_MS));
  } catch (error) {
    // Not retryable (e.g. the code expired or was already used): retrying cannot install the
    // account, so the job ends here and the log says why; the admin has to install again.
    context.log.error({ err: error, step: progress.step }, "Kommo install failed for good; the account admin must install again");
    return;
  }
  if (outcome.done) {
    context.log.info({ accountId: outcome.accountId, webhookRegistered: outcome.webhookRegistered }, "Kommo install finished in the background");
    return;
  }
  if (outcome.next.step !== progress.step) {
    // Progress was made (e.g. the code was exchanged): a retry of this job would replay a used
    // code, so the rest continues as a new job from the step reached.
    await enqueueInstall(outcome.next);
    context.log.warn({ err: outcome.error, step: outcome.next.step }, "Kommo install continues in a new job");
    return;
  }
  throw outcome.error;
}
