// The durable queues (pg-boss on the product's own Postgres) and how each retries. Retries use
// pg-boss's exponential backoff: the n-th retry waits retryDelay * 2^n seconds (with jitter).
import type PgBoss from "pg-boss";
import { syncJobTimeoutSeconds } from "@/lib/env";

export type QueueDefinition = {
  name: string;
  /** Options pg-boss stores with the queue (policy, retries, expiry, dead letter). */
  options: Omit<PgBoss.Queue, "name">;
  /** Jobs of this queue one worker process runs at once (defaults to WORKER_CONCURRENCY). */
  concurrency?: number;
  /** Its expiry comes from SYNC_JOB_TIMEOUT_SECONDS rather than from `options`. */
  expiryFromEnv?: boolean;
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
   * 5 s * 2^n over 14 retries spans more than 24 hours before the job is dead-lettered.
   */
  syncLead: {
    name: "sync-lead",
    options: {
      policy: "short",
      retryLimit: 14,
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
  }
}
