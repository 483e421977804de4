// A job that fails twice and then succeeds, observed in pg-boss's own tables.
import pg from "pg";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import type { QueueDefinition } from "@/lib/jobs/queues";

const databaseUrl = process.env.DATABASE_URL!;
const pool = new pg.Pool({ connectionString: databaseUrl });
const log = pino({ level: "silent" });
let worker: RunningWorker | undefined;

afterAll(async () => {
  await worker?.stop({ timeoutMs: 1000 });
  await pool.end();
});

async function jobRow(id: string) {
  const { rows } = await pool.query("SELECT state, retry_count FROM pgboss.job WHERE id = $1", [id]);
  return rows[0] as { state: string; retry_count: number } | undefined;
}

describe("durable queue", () => {
  it("retries a failing job with backoff until it succeeds", async () => {
    const queue: QueueDefinition = {
      name: "test-flaky",
      options: { retryLimit: 3, retryDelay: 1, retryBackoff: true },
      concurrency: 1,
    };
    const attempts: number[] = [];
    worker = await startWorker({
      databaseUrl,
      log,
      concurrency: 1,
      queues: [queue],
      handlers: {
        "test-flaky": async (_data, context) => {
          attempts.push(Date.now());
          if (context.retryCount < 2) throw new Error(`attempt ${context.retryCount + 1} fails`);
        },
      },
    });
    const id = await worker.boss.send("test-flaky", { hello: "world" });
    expect(id).toBeTruthy();

    const deadline = Date.now() + 20_000;
    let row = await jobRow(id!);
    while (row?.state !== "completed" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      row = await jobRow(id!);
    }
    expect(row).toEqual({ state: "completed", retry_count: 2 });
    expect(attempts).toHaveLength(3);
    // Backoff: the second wait is at least as long as the first (1 s * 2^n with jitter).
    const firstGap = attempts[1]! - attempts[0]!;
    const secondGap = attempts[2]! - attempts[1]!;
    expect(firstGap).toBeGreaterThanOrEqual(900);
    expect(secondGap).toBeGreaterThanOrEqual(1800);
  });
});
