// The worker role: runs the handler of every queue, several jobs at once, and stops gracefully:
// on SIGTERM it stops fetching, lets running jobs finish for a while, then hands the rest back to
// the queue (they are retried by another worker).
import type PgBoss from "pg-boss";
import type { Logger } from "pino";
import { createBoss } from "./boss";
import type { Job } from "./define-job";
import { prepareQueues } from "./queues";

export type { JobContext } from "./define-job";

export type WorkerOptions = {
  databaseUrl: string;
  /** The jobs this worker runs (lib/worker.ts lists them all). */
  jobs: readonly Job[];
  log: Logger;
  concurrency: number;
  /** How often an idle worker looks for new jobs. */
  pollingIntervalSeconds?: number;
  /** How often it looks for jobs of dead workers. */
  maintenanceIntervalSeconds?: number;
};

export type RunningWorker = {
  boss: PgBoss;
  stop: (options?: { timeoutMs?: number }) => Promise<void>;
};

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const boss = createBoss(options.databaseUrl, "worker", options.maintenanceIntervalSeconds);
  boss.on("error", (error) => options.log.error({ err: error }, "queue error"));
  await boss.start();
  await prepareQueues(boss, options.jobs);

  for (const definition of options.jobs) {
    const slots = definition.concurrency ?? options.concurrency;
    for (let slot = 0; slot < slots; slot++) {
      await boss.work(
        definition.name,
        { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 0.5 },
        async ([job]) => {
          if (!job) return;
          const log = options.log.child({ queue: definition.name, jobId: job.id, retry: job.retryCount });
          const startedAt = Date.now();
          try {
            await definition.handle(job.data, { id: job.id, queue: definition.name, retryCount: job.retryCount, retryLimit: job.retryLimit, log });
            log.debug({ ms: Date.now() - startedAt }, "job done");
          } catch (error) {
            const final = job.retryCount >= job.retryLimit;
            log[final ? "error" : "warn"]({ err: error, ms: Date.now() - startedAt }, final ? "job failed for good" : "job failed, will retry");
            throw error;
          }
        },
      );
    }
  }

  return {
    boss,
    stop: async ({ timeoutMs = 30_000 } = {}) => {
      await boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
    },
  };
}
