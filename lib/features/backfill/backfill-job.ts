// The backfill job: one per run (singletonKey = run id). A job works on its run for a couple of
// minutes, saves its cursor with every chunk and queues its successor. Its heartbeat is the run's
// updatedAt: a run whose heartbeat stops (its worker was killed) is handed to a new job by the
// minute tick. The expiry is only a last resort: pg-boss fails a job at its expiry while its
// handler goes on, so it must exceed the longest job (a chunk may wait minutes for a Klaviyo
// import job). Its retries: failures.ts.
import { z } from "zod";
import { defineJob, type JobContext } from "@/lib/jobs/define-job";
import { DEAD_LETTER_QUEUE } from "@/lib/jobs/queues";
import { BACKFILL_RETRY_LIMIT, recordFailure } from "./failures";
import { runBackfillSlice, RunTakenOverError } from "./run";

export const backfillJob = defineJob({
  name: "backfill",
  payload: z.object({ runId: z.uuid() }),
  queue: { policy: "short", retryLimit: BACKFILL_RETRY_LIMIT, retryDelay: 10, retryBackoff: true, expireInSeconds: 1800, deadLetter: DEAD_LETTER_QUEUE },
  concurrency: 1,
  run: (payload, context) => runBackfillJob(payload, context),
});

/** Queue the run's next job (at most one waits per run; a running job may queue its successor). */
export async function enqueueBackfill(runId: string): Promise<void> {
  await backfillJob.send({ runId }, { singletonKey: runId });
}

async function runBackfillJob({ runId }: { runId: string }, context: JobContext): Promise<void> {
  const owner = `${context.id}:${context.retryCount}`;
  try {
    const outcome = await runBackfillSlice(runId, owner);
    if (outcome === "continue") await enqueueBackfill(runId);
    if (outcome === "completed") context.log.info({ runId }, "backfill completed");
  } catch (error) {
    if (error instanceof RunTakenOverError) {
      context.log.warn({ runId }, "backfill taken over by a newer job; this one stops");
      return;
    }
    const ended = await recordFailure(runId, error, context.retryCount >= context.retryLimit);
    context.log[ended ? "error" : "warn"]({ runId, err: error }, ended ? "backfill failed" : "backfill interrupted; it resumes from its cursor");
    if (!ended) throw error;
  }
}
