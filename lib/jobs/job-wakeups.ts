// How an idle worker learns that a job is ready without asking every queue twice a second.
//
// - A job inserted ready to run (pg-boss `send`, `insert`, its cron, a replay) makes PostgreSQL send
//   a notification naming its queue: a row trigger on pg-boss's job table, installed by
//   `npm run db:migrate`, so every way of creating a job is covered and senders pay no extra round
//   trip. Notifications are sent when the inserting transaction commits.
// - Jobs that become ready later (a delayed start, a retry's backoff, a job handed back by the
//   maintenance after its worker died) notify nobody: one query a second per worker asks when each
//   queue's next job is due (queue-state.ts), and the worker wakes that queue on time.
// A lost notification (the listening connection dropped) is therefore late by a second at most.
import pg from "pg";
import type { Logger } from "pino";
import { QUEUE_SCHEMA } from "./boss";

export const JOB_READY_CHANNEL = "kss_job_ready";

const quoted = `"${QUEUE_SCHEMA}"`;

/** The trigger, created or replaced on every migration (idempotent; new queues' partitions inherit it). */
export const JOB_READY_TRIGGER_SQL = `
CREATE OR REPLACE FUNCTION ${quoted}.kss_notify_job_ready() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${JOB_READY_CHANNEL}', NEW.name);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS kss_job_ready ON ${quoted}.job;
CREATE TRIGGER kss_job_ready AFTER INSERT ON ${quoted}.job
  FOR EACH ROW WHEN (NEW.start_after <= now()) EXECUTE FUNCTION ${quoted}.kss_notify_job_ready();
`;

const RECONNECT_MS = 1000;

/**
 * A connection that LISTENs for ready jobs and calls `onReady(queue)`; it reconnects by itself
 * (meanwhile the due check keeps the queues moving).
 */
export class JobReadyListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly databaseUrl: string,
    private readonly onReady: (queue: string) => void,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: "klaviyo-sync-worker-listen" });
    client.on("notification", (message) => {
      if (message.channel === JOB_READY_CHANNEL && message.payload) this.onReady(message.payload);
    });
    client.on("error", (error) => {
      this.log.warn({ err: error }, "job notifications lost their connection; reconnecting");
      this.reconnectLater(client);
    });
    client.on("end", () => this.reconnectLater(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${JOB_READY_CHANNEL}`);
      this.client = client;
    } catch (error) {
      this.log.warn({ err: error }, "could not listen for job notifications; the due check keeps the queues moving");
      this.reconnectLater(client);
    }
  }

  private reconnectLater(client: pg.Client): void {
    if (this.client === client) this.client = null;
    client.removeAllListeners("end");
    void client.end().catch(() => undefined);
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.stopped) void this.start();
    }, RECONNECT_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners("end");
      await client.end().catch(() => undefined);
    }
  }
}
