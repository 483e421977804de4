// What the harness reads from the app's database, as an outside observer: our account ids, whether
// every recorded change has been applied (nothing pending, no sync job left), and what the sync log
// says it cost. Read-only, except for taking the initial import of existing deals out of the way.
import pg from "pg";

export type Pending = { events: number; jobs: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Observer {
  private readonly pool: pg.Pool;

  constructor(databaseUrl: string) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: "klaviyo-sync-harness" });
    // A connection dropped (e.g. while the database restarts) is replaced on the next query.
    this.pool.on("error", () => undefined);
  }

  async query<Row extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query<Row>(text, values)).rows;
  }

  async accountId(kommoAccountId: number): Promise<string> {
    const [row] = await this.query<{ id: string }>(`SELECT "id" FROM "Account" WHERE "kommoAccountId" = $1`, [kommoAccountId]);
    if (!row) throw new Error(`no account for Kommo account ${kommoAccountId}`);
    return row.id;
  }

  /**
   * An install queues an import of the account's existing deals, started by the next minute tick.
   * Runs measure live syncing: a historical import racing the live changes of a run would make what
   * Klaviyo holds depend on the minute the run started. (The benchmark starts its own imports.)
   */
  async cancelInitialImports(accountIds: string[]): Promise<void> {
    await this.query(
      `UPDATE "BackfillRun" SET "status" = 'cancelled', "finishedAt" = now(), "lastError" = 'cancelled by the harness'
       WHERE "accountId" = ANY($1::uuid[]) AND "status" = 'queued'`,
      [accountIds],
    );
  }

  async pending(accountIds: string[]): Promise<Pending> {
    const [row] = await this.query<{ events: string; jobs: string }>(
      `SELECT (SELECT count(*) FROM "InboundEvent" WHERE "accountId" = ANY($1::uuid[]) AND "processedAt" IS NULL) AS events,
              (SELECT count(*) FROM pgboss.job WHERE name = 'sync-lead' AND data->>'accountId' = ANY($2::text[])
                 AND state IN ('created', 'retry', 'active')) AS jobs`,
      [accountIds, accountIds],
    );
    return { events: Number(row!.events), jobs: Number(row!.jobs) };
  }

  /**
   * Wait until every change recorded for these accounts has been applied and no sync job is left.
   * Resolves to the time it took, or null after `timeoutMs` (queries failing meanwhile, e.g. during
   * a database restart, count as "not yet").
   */
  async drained(accountIds: string[], timeoutMs: number, stepMs = 200): Promise<number | null> {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      try {
        const pending = await this.pending(accountIds);
        if (pending.events === 0 && pending.jobs === 0) return Date.now() - started;
      } catch {
        // the database is not answering; try again
      }
      await sleep(stepMs);
    }
    return null;
  }

  /**
   * Where the time of each change received since `since` went: from the webhook being recorded to
   * the start of the sync that applied it (queue and lease wait), and that sync's own duration.
   */
  async syncTimings(accountIds: string[], since: Date): Promise<{ waitMs: number[]; syncMs: number[] }> {
    const rows = await this.query<{ wait_ms: number; sync_ms: number }>(
      `SELECT greatest(0, extract(epoch FROM (s."startedAt" - e."receivedAt")) * 1000)::float8 AS wait_ms, s."durationMs"::float8 AS sync_ms
       FROM "InboundEvent" e
       JOIN LATERAL (
         SELECT "startedAt", "durationMs" FROM "SyncLog"
         WHERE "accountId" = e."accountId" AND "leadId" = e."leadId" AND "status" = 'ok' AND "finishedAt" >= e."receivedAt"
         ORDER BY "finishedAt" LIMIT 1
       ) s ON true
       WHERE e."accountId" = ANY($1::uuid[]) AND e."receivedAt" >= $2::timestamptz`,
      [accountIds, since.toISOString()],
    );
    return { waitMs: rows.map((row) => row.wait_ms), syncMs: rows.map((row) => row.sync_ms) };
  }

  /**
   * Statements per second that every connection to this database ran over `windowMs` (each statement
   * outside a transaction block is a transaction of its own), less the observer's own two reads.
   * Each backend publishes its counts when it goes idle, at most once a second and at the latest
   * about 10 s later, so the window must be long (tens of seconds) for a steady figure.
   */
  async transactionsPerSecond(windowMs: number): Promise<number> {
    const read = async () => {
      const [row] = await this.query<{ count: string }>(`SELECT xact_commit + xact_rollback AS count FROM pg_stat_database WHERE datname = current_database()`);
      return Number(row!.count);
    };
    const before = await read();
    await sleep(windowMs);
    return (await read() - before - 1) / (windowMs / 1000);
  }

  /** Jobs that ran (some or all of the time) between `from` and `to`, by queue; pg-boss's own queues left out. */
  async jobsRunBetween(from: Date, to: Date): Promise<Record<string, number>> {
    const rows = await this.query<{ name: string; count: string }>(
      `SELECT name, count(*) AS count FROM pgboss.job
       WHERE started_on < $2 AND (completed_on IS NULL OR completed_on >= $1) AND name NOT LIKE '\\_\\_pgboss%'
       GROUP BY name ORDER BY count(*) DESC`,
      [from, to],
    );
    return Object.fromEntries(rows.map((row) => [row.name, Number(row.count)]));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
