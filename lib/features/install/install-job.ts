// The `kommo-install` queue: installs that could not finish inside Kommo's 3-second install call.
import { senderBoss } from "@/lib/jobs/boss";
import { QUEUES } from "@/lib/jobs/queues";
import type { JobHandler } from "@/lib/jobs/worker";
import { advanceInstall, installProgressSchema, type InstallProgress } from "./install";

/** Longer than any one step's calls, shorter than the queue's expiry (120 s). */
const JOB_DEADLINE_MS = 90_000;

/** Queue the rest of an install; `startAfterSeconds` delays it (the inline run's safety net). */
export async function enqueueInstall(progress: InstallProgress, startAfterSeconds?: number): Promise<string> {
  const boss = await senderBoss();
  const id = await boss.send(QUEUES.kommoInstall.name, progress, startAfterSeconds ? { startAfter: startAfterSeconds } : {});
  // pg-boss answers null instead of failing when the queue does not exist; an install must not vanish.
  if (!id) throw new Error(`The ${QUEUES.kommoInstall.name} queue is missing; run npm run db:migrate`);
  return id;
}

export const handleKommoInstallJob: JobHandler = async (data, context) => {
  const progress = installProgressSchema.parse(data);
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
};
