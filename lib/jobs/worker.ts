// The worker role: runs the handler of every queue, several jobs at once, and stops gracefully:
// on SIGTERM it stops fetching, lets running jobs finish for a while, then hands the rest back to
// the queue (they are retried by another worker).
//
// One fetch loop per queue takes as many jobs as it has free slots in one query, and sleeps while
// the queue is empty until a job-ready notification or the due check wakes it (job-wakeups.ts):
// an idle worker costs about one query a second, and a new job starts as soon as it is committed.
import type PgBoss from "pg-boss";
import type { Logger } from "pino";
import { createBoss } from "./boss";
import type { Job } from "./define-job";
import { JobReadyListener } from "./job-wakeups";
import { secondsUntilNextJob } from "./queue-state";
import { prepareQueues } from "./queues";

export type { JobContext } from "./define-job";

export type WorkerOptions = {
  databaseUrl: string;
  /** The jobs this worker runs (lib/worker.ts lists them all). */
  jobs: readonly Job[];
  log: Logger;
  concurrency: number;
  /** How often the worker asks when each queue's next delayed job is due (ms). */
  dueCheckMs?: number;
  /** How often it looks for jobs of dead workers. */
  maintenanceIntervalSeconds?: number;
};

export type RunningWorker = {
  boss: PgBoss;
  stop: (options?: { timeoutMs?: number }) => Promise<void>;
};

type FetchedJob = PgBoss.JobWithMetadata<unknown>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one queue's jobs, up to `slots` at once. */
class QueueLoop {
  private readonly running = new Map<string, Promise<void>>();
  private stopping = false;
  /** A wake-up arrived since the last fetch began: fetch again before sleeping. */
  private wakeRequested = true;
  /** The last fetch filled every free slot: more may be waiting, so a freed slot fetches at once. */
  private maybeMore = false;
  private wakeSleeper: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly boss: PgBoss,
    private readonly job: Job,
    private readonly slots: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.loopDone = this.loop();
  }

  wake(): void {
    this.wakeRequested = true;
    this.wakeSleeper?.();
  }

  private sleepUntilWoken(): Promise<void> {
    if (this.wakeRequested || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeSleeper = () => {
        this.wakeSleeper = null;
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const free = this.slots - this.running.size;
      if (free <= 0) {
        // A finishing job wakes the loop (see run).
        await this.sleepUntilWoken();
        if (this.slots - this.running.size <= 0) this.wakeRequested = false;
        continue;
      }
      this.wakeRequested = false;
      let jobs: FetchedJob[];
      try {
        jobs = await this.boss.fetch(this.job.name, { batchSize: free, includeMetadata: true });
      } catch (error) {
        this.log.warn({ err: error, queue: this.job.name }, "could not fetch jobs; trying again");
        await sleep(1000);
        continue;
      }
      for (const job of jobs) this.running.set(job.id, this.run(job));
      this.maybeMore = jobs.length === free;
      if (!this.maybeMore) await this.sleepUntilWoken();
    }
  }

  private async run(job: FetchedJob): Promise<void> {
    const log = this.log.child({ queue: this.job.name, jobId: job.id, retry: job.retryCount });
    const startedAt = Date.now();
    try {
      await withinSeconds(
        this.job.handle(job.data, { id: job.id, queue: this.job.name, retryCount: job.retryCount, retryLimit: job.retryLimit, log }),
        Number(job.expireInSeconds),
      );
      log.debug({ ms: Date.now() - startedAt }, "job done");
      await this.settle(() => this.boss.complete(this.job.name, job.id));
    } catch (error) {
      const final = job.retryCount >= job.retryLimit;
      log[final ? "error" : "warn"]({ err: error, ms: Date.now() - startedAt }, final ? "job failed for good" : "job failed, will retry");
      await this.settle(() => this.boss.fail(this.job.name, job.id, error as object));
    } finally {
      this.running.delete(job.id);
      if (this.maybeMore) this.wake();
    }
  }

  /** Record a job's end; when the database is away, the maintenance hands the job to a worker again. */
  private async settle(write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.log.warn({ err: error, queue: this.job.name }, "could not record a job's end; it will run again");
    }
  }

  /** Stop fetching; wait up to `timeoutMs` for running jobs; hand back the rest (they are retried). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.wakeSleeper?.();
    await this.loopDone;
    const ids = [...this.running.keys()];
    await Promise.race([Promise.allSettled(this.running.values()), sleep(timeoutMs)]);
    const left = ids.filter((id) => this.running.has(id));
    for (const id of left) await this.settle(() => this.boss.fail(this.job.name, id, { message: "the worker stopped while the job was running" }));
  }
}

/** A job's handler, bounded by its queue's expiry as pg-boss bounds its own workers. */
async function withinSeconds<T>(work: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`handler execution exceeded ${Math.max(1, seconds)} s`)), Math.max(1, seconds) * 1000);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Once a second: which queues have a job due now (wake them), or within the next second (wake them
 * then). Delayed starts and retries notify nobody when they become due.
 */
function startDueCheck(boss: PgBoss, loops: Map<string, QueueLoop>, everyMs: number, log: Logger): () => void {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const check = async () => {
    try {
      const due = await secondsUntilNextJob(boss.getDb(), [...loops.keys()]);
      for (const [queue, seconds] of due) {
        const loop = loops.get(queue);
        if (!loop) continue;
        if (seconds <= 0) loop.wake();
        else if (seconds * 1000 < everyMs) {
          const timer = setTimeout(() => {
            timers.delete(timer);
            loop.wake();
          }, seconds * 1000);
          timers.add(timer);
        }
      }
    } catch (error) {
      log.debug({ err: error }, "due check failed; trying again");
    }
    if (!stopped) interval = setTimeout(() => void check(), everyMs);
  };
  let interval = setTimeout(() => void check(), everyMs);
  return () => {
    stopped = true;
    clearTimeout(interval);
    for (const timer of timers) clearTimeout(timer);
  };
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const boss = createBoss(options.databaseUrl, "worker", options.maintenanceIntervalSeconds);
  boss.on("error", (error) => options.log.error({ err: error }, "queue error"));
  await boss.start();
  await prepareQueues(boss, options.jobs);

  const loops = new Map<string, QueueLoop>(
    options.jobs.map((job) => [job.name, new QueueLoop(boss, job, job.concurrency ?? options.concurrency, options.log)]),
  );
  // Listen first, so that no job committed from now on goes unnoticed; then fetch what is there.
  const listener = new JobReadyListener(options.databaseUrl, (queue) => loops.get(queue)?.wake(), options.log);
  await listener.start();
  for (const loop of loops.values()) loop.start();
  const stopDueCheck = startDueCheck(boss, loops, options.dueCheckMs ?? 1000, options.log);

  return {
    boss,
    stop: async ({ timeoutMs = 30_000 } = {}) => {
      stopDueCheck();
      await listener.stop();
      await Promise.all([...loops.values()].map((loop) => loop.stop(timeoutMs)));
      await boss.stop({ graceful: true, wait: true, timeout: 1000 });
    },
  };
}
