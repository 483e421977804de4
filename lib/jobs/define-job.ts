// A job, read in one file: its queue's name and retry policy, the schema of its payload, the
// function that runs it, and a typed way to enqueue it. Features define their jobs with
// defineJob; lib/worker.ts lists them for the workers and the migration.
import type PgBoss from "pg-boss";
import type { Logger } from "pino";
import type { z } from "zod";
import { senderBoss } from "./boss";

export type JobContext = {
  id: string;
  queue: string;
  /** 0 on the first run, n on the n-th retry. */
  retryCount: number;
  retryLimit: number;
  log: Logger;
};

/** What pg-boss stores with the queue: policy, retries, expiry, dead letter. */
export type QueuePolicy = Omit<PgBoss.Queue, "name">;

export type SendOptions = {
  /** At most one queued job per key (queues with policy "short"). */
  singletonKey?: string;
  /** Seconds from now, or a time. */
  startAfter?: number | Date;
  /** Write the job inside the caller's transaction (it commits or rolls back with their rows). */
  db?: PgBoss.Db;
};

type JobSpec<Schema extends z.ZodType> = {
  name: string;
  payload: Schema;
  queue: QueuePolicy;
  /** The expiry, read when the queues are prepared (for an expiry that comes from the configuration). */
  expireInSeconds?: () => number;
  /** Jobs of this queue one worker process runs at once (defaults to WORKER_CONCURRENCY). */
  concurrency?: number;
  /** pg-boss cron (UTC): the queue gets a job at these times from the workers' scheduler. */
  cron?: string;
  run: (payload: z.infer<Schema>, context: JobContext) => Promise<void>;
};

export type Job<Payload = unknown> = {
  readonly name: string;
  readonly queue: QueuePolicy;
  readonly concurrency?: number;
  readonly cron?: string;
  /** The queue's options as they are stored (with an expiry read from the configuration). */
  queueOptions(): QueuePolicy;
  /** Parse the stored payload and run the job (the worker calls this; so do tests). */
  handle(data: unknown, context: JobContext): Promise<void>;
  /** Queue one job; null when a job with the same singletonKey already waits. */
  send(payload: Payload, options?: SendOptions): Promise<string | null>;
  /** Queue several at once, in one statement. */
  sendMany(jobs: { payload: Payload; singletonKey?: string; startAfter?: Date }[], options?: Pick<SendOptions, "db">): Promise<void>;
  /** Cancel a queued job of this queue. */
  cancel(jobId: string): Promise<void>;
};

export function defineJob<Schema extends z.ZodType>(spec: JobSpec<Schema>): Job<z.infer<Schema>> {
  type Payload = z.infer<Schema>;
  return {
    name: spec.name,
    queue: spec.queue,
    concurrency: spec.concurrency,
    cron: spec.cron,
    queueOptions: () => ({ ...spec.queue, ...(spec.expireInSeconds && { expireInSeconds: spec.expireInSeconds() }) }),
    handle: async (data, context) => spec.run(spec.payload.parse(data), context),
    send: async (payload: Payload, options: SendOptions = {}) => {
      const boss = await senderBoss();
      const { db, ...sendOptions } = options;
      return boss.send(spec.name, spec.payload.parse(payload) as object, { ...sendOptions, ...(db && { db }) });
    },
    sendMany: async (jobs, options = {}) => {
      if (jobs.length === 0) return;
      const boss = await senderBoss();
      const inserts: PgBoss.JobInsert[] = jobs.map((job) => ({
        name: spec.name,
        data: spec.payload.parse(job.payload) as object,
        ...(job.singletonKey && { singletonKey: job.singletonKey }),
        ...(job.startAfter && { startAfter: job.startAfter }),
      }));
      await boss.insert(inserts, options.db ? { db: options.db } : {});
    },
    cancel: async (jobId) => {
      await (await senderBoss()).cancel(spec.name, jobId);
    },
  };
}
