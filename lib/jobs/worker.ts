// The worker role: runs the handler of every queue, several jobs at once, and stops gracefully:
// on SIGTERM it stops fetching, lets running jobs finish for a while, then hands the rest back to
// the queue (they are retried by another worker).
import type PgBoss from "pg-boss";
import type { Logger } from "pino";
import { createBoss } from "./boss";
import { ALL_QUEUES, prepareQueues, type QueueDefinition } from "./queues";

export type JobContext = {
  id: string;
  queue: string;
  /** 0 on the first run, n on the n-th retry. */
  retryCount: number;
  retryLimit: number;
  log: Logger;
};

export type JobHandler = (data: unknown, context: JobContext) => Promise<void>;

export type WorkerOptions = {
  databaseUrl: string;
  handlers: Partial<Record<string, JobHandler>>;
  log: Logger;
  concurrency: number;
  queues?: QueueDefinition[];
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
  const queues = options.queues ?? ALL_QUEUES;
  await prepareQueues(boss, queues);

  for (const queue of queues) {
    const handler = options.handlers[queue.name];
    if (!handler) continue;
    const slots = queue.concurrency ?? options.concurrency;
    for (let slot = 0; slot < slots; slot++) {
      await boss.work(
        queue.name,
        { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 0.5 },
        async ([job]) => {
          if (!job) return;
          const log = options.log.child({ queue: queue.name, jobId: job.id, retry: job.retryCount });
          const startedAt = Date.now();
          try {
            await handler(job.data, { id: job.id, queue: queue.name, retryCount: job.retryCount, retryLimit: job.retryLimit, log });
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
