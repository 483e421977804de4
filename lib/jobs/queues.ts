// The queues in the product's own Postgres (pg-boss): created or updated from the job definitions
// on every start, safe from several processes at once. Retries use pg-boss's exponential backoff:
// the n-th retry waits retryDelay * 2^n seconds (with jitter).
import type PgBoss from "pg-boss";
import type { Job, QueuePolicy } from "./define-job";

/** Jobs that used up their retries, kept for the dashboard's replay. */
export const DEAD_LETTER_QUEUE = "dead-letter";
const DEAD_LETTER_POLICY: QueuePolicy = { retryLimit: 0, retentionDays: 90 };

/** Postgres error codes of a queue created by another process between our read and our insert. */
const ALREADY_EXISTS = new Set(["23505", "42P07"]);

export async function prepareQueues(boss: PgBoss, jobs: readonly Job[]): Promise<void> {
  const existing = new Set((await boss.getQueues()).map((queue) => queue.name));
  // The dead-letter queue must exist before the queues that point at it.
  const queues: { name: string; options: QueuePolicy; cron?: string }[] = [
    { name: DEAD_LETTER_QUEUE, options: DEAD_LETTER_POLICY },
    ...jobs.map((job) => ({ name: job.name, options: job.queueOptions(), cron: job.cron })),
  ];
  for (const queue of queues) {
    const options = { name: queue.name, ...queue.options };
    if (existing.has(queue.name)) {
      await boss.updateQueue(queue.name, options);
    } else {
      try {
        await boss.createQueue(queue.name, options);
      } catch (error) {
        if (!ALREADY_EXISTS.has(String((error as { code?: unknown }).code))) throw error;
      }
    }
    // The schedule is a row in the queue's database: every process may write it, the workers run it.
    if (queue.cron) await boss.schedule(queue.name, queue.cron, {}, { tz: "UTC", singletonKey: queue.name });
  }
}
