// The durable queues (pg-boss on the product's own Postgres) and how each retries. Retries use
// pg-boss's exponential backoff: the n-th retry waits retryDelay * 2^n seconds (with jitter).
import type PgBoss from "pg-boss";
import { syncJobTimeoutSeconds } from "@/lib/platform/env";

export type QueueDefinition = {
  name: string;
  /** Options pg-boss stores with the queue (policy, retries, expiry, dead letter). */
  options: Omit<PgBoss.Queue, "name">;
  /** Jobs of this queue one worker process runs at once (defaults to WORKER_CONCURRENCY). */
  concurrency?: number;
  /** Its expiry comes from SYNC_JOB_TIMEOUT_SECONDS rather than from `options`. */
  expiryFromEnv?: boolean;
  /** pg-boss cron (UTC): the queue gets a job at these times from the workers' scheduler. */
  cron?: string;
};

export const DEAD_LETTER_QUEUE = "dead-letter";

export const QUEUES = {
  /** Jobs that used up their retries, kept for the dashboard's replay. */
  deadLetter: {
    name: DEAD_LETTER_QUEUE,
    options: { retryLimit: 0, retentionDays: 90 },
    concurrency: 0,
  },
  /**
   * One job per Kommo lead. Policy "short" keeps at most one queued job per lead (singletonKey), so a
   * burst of webhooks for one lead coalesces into one sync; the job reads every pending change.
   * pg-boss waits between 2.5 s and 5 s * 2^n (jitter) before retry n: 15 retries span at least
   * 45 hours (at most 91) before the job is dead-lettered, so a day-long outage of Klaviyo or Kommo
   * loses nothing. 14 would allow as little as 22.7 hours.
   */
  syncLead: {
    name: "sync-lead",
    options: {
      policy: "short",
      retryLimit: 15,
      retryDelay: 5,
      retryBackoff: true,
      deadLetter: DEAD_LETTER_QUEUE,
    },
    expiryFromEnv: true,
  },
  /** Finishing a Kommo install whose code exchange could not finish inside the install call's 3 s. */
  kommoInstall: {
    name: "kommo-install",
    options: { retryLimit: 6, retryDelay: 5, retryBackoff: true, expireInSeconds: 120, deadLetter: DEAD_LETTER_QUEUE },
    concurrency: 2,
  },
  /** Daily at 03:17 UTC: sync-log rows older than SYNC_LOG_RETENTION_DAYS go; open failures stay. */
  pruneSyncLog: {
    name: "prune-sync-log",
    options: { policy: "short", retryLimit: 2, retryDelay: 300, expireInSeconds: 1800 },
    concurrency: 1,
    cron: "17 3 * * *",
  },
  /**
   * Every minute: find the accounts whose email-activity poll or reconciliation is due and the
   * backfills waiting to start, and enqueue their jobs. One tick at a time (policy "short").
   */
  accountTick: {
    name: "account-tick",
    options: { policy: "short", retryLimit: 0, expireInSeconds: 120 },
    concurrency: 1,
    cron: "* * * * *",
  },
  /** One job per account (singletonKey): new Klaviyo email events of the account's deals -> notes. */
  activityPoll: {
    name: "activity-poll",
    options: { policy: "short", retryLimit: 3, retryDelay: 30, retryBackoff: true, expireInSeconds: 900 },
    concurrency: 2,
  },
  /** One job per account: Kommo's events feed compared with the webhooks that arrived. */
  reconcile: {
    name: "reconcile",
    options: { policy: "short", retryLimit: 3, retryDelay: 30, retryBackoff: true, expireInSeconds: 600 },
    concurrency: 2,
  },
  /**
   * One job per backfill run (singletonKey = run id). A job works on its run for a couple of
   * minutes, saves its cursor with every chunk and queues its successor. Its heartbeat is the run's
   * updatedAt: a run whose heartbeat stops (its worker was killed) is handed to a new job by the
   * minute tick. The expiry is only a last resort: pg-boss fails a job at its expiry while its
   * handler goes on, so it must exceed the longest job (a chunk may wait minutes for a Klaviyo
   * import job). 10 s * 2^n over 8 retries ≈ 1.5 h.
   */
  backfill: {
    name: "backfill",
    options: { policy: "short", retryLimit: 8, retryDelay: 10, retryBackoff: true, expireInSeconds: 1800, deadLetter: DEAD_LETTER_QUEUE },
    concurrency: 1,
  },
} satisfies Record<string, QueueDefinition>;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES]["name"];

export const ALL_QUEUES: QueueDefinition[] = Object.values(QUEUES);

/** Create or update every queue; safe to run on every start and from several processes. */
export async function prepareQueues(boss: PgBoss, definitions: QueueDefinition[] = ALL_QUEUES) {
  const existing = new Set((await boss.getQueues()).map((queue) => queue.name));
  // Dead-letter targets must exist before the queues that point at them.
  const ordered = [...definitions].sort((a, b) => Number(Boolean(a.options.deadLetter)) - Number(Boolean(b.options.deadLetter)));
  for (const definition of ordered) {
    const options = { name: definition.name, ...definition.options, ...(definition.expiryFromEnv && { expireInSeconds: syncJobTimeoutSeconds() }) };
    if (existing.has(definition.name)) {
      await boss.updateQueue(definition.name, options);
    } else {
      try {
        await boss.createQueue(definition.name, options);
      } catch (error) {
        // Another process created it between our read and our insert.
        if (!String((error as Error).message).includes("already exists")) throw error;
      }
    }
    // The schedule is a row in the queue's database: every process may write it, the workers run it.
    if (definition.cron) await boss.schedule(definition.name, definition.cron, {}, { tz: "UTC", singletonKey: definition.name });
  }
}
