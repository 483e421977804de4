// The durable queue as the worker uses it, observed in pg-boss's own tables: retries with backoff,
// a graceful stop that lets running jobs finish or hands them back, and how an idle worker learns
// of work: a ready job's notification, or the due check for a delayed one.
import pg from "pg";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { z } from "zod";
import { defineJob } from "@/lib/jobs/define-job";

const databaseUrl = process.env.DATABASE_URL!;
const pool = new pg.Pool({ connectionString: databaseUrl });
const log = pino({ level: "silent" });
let worker: RunningWorker | undefined;

afterAll(async () => {
  await worker?.stop({ timeoutMs: 1000 });
  await pool.end();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForState(id: string, state: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let row = await jobRow(id);
  while (row?.state !== state && Date.now() < deadline) {
    await sleep(100);
    row = await jobRow(id);
  }
  return row;
}

async function jobRow(id: string) {
  const { rows } = await pool.query("SELECT state, retry_count FROM pgboss.job WHERE id = $1", [id]);
  return rows[0] as { state: string; retry_count: number } | undefined;
}

describe("durable queue", () => {
  it("retries a failing job with backoff until it succeeds", async () => {
    const attempts: number[] = [];
    const flaky = defineJob({
      name: "test-flaky",
      payload: z.object({ hello: z.string() }),
      queue: { retryLimit: 3, retryDelay: 1, retryBackoff: true },
      concurrency: 1,
      run: async (_payload, context) => {
        attempts.push(Date.now());
        if (context.retryCount < 2) throw new Error(`attempt ${context.retryCount + 1} fails`);
      },
    });
    worker = await startWorker({ databaseUrl, log, concurrency: 1, jobs: [flaky] });
    const id = await worker.boss.send("test-flaky", { hello: "world" });
    expect(id).toBeTruthy();

    const row = await waitForState(id!, "completed");
    expect(row).toEqual({ state: "completed", retry_count: 2 });
    expect(attempts).toHaveLength(3);
    // Backoff: the second wait is at least as long as the first (1 s * 2^n with jitter).
    const firstGap = attempts[1]! - attempts[0]!;
    const secondGap = attempts[2]! - attempts[1]!;
    expect(firstGap).toBeGreaterThanOrEqual(900);
    expect(secondGap).toBeGreaterThanOrEqual(1800);
  });

  it("on stop, lets a running job finish and hands back one that runs past the grace period", async () => {
    await worker?.stop({ timeoutMs: 1000 });
    const finished: string[] = [];
    const slowJob = (name: string, ms: number, label: string) =>
      defineJob({
        name,
        payload: z.object({}),
        queue: { retryLimit: 2, retryDelay: 1 },
        concurrency: 1,
        run: async () => {
          await sleep(ms);
          finished.push(label);
        },
      });
    const stopping = await startWorker({ databaseUrl, log, concurrency: 1, jobs: [slowJob("test-short-job", 1500, "short"), slowJob("test-long-job", 8000, "long")] });
    const shortId = await stopping.boss.send("test-short-job", {});
    const longId = await stopping.boss.send("test-long-job", {});
    expect((await waitForState(shortId!, "active"))?.state).toBe("active");
    expect((await waitForState(longId!, "active"))?.state).toBe("active");

    await stopping.stop({ timeoutMs: 3000 });

    expect(finished).toEqual(["short"]);
    expect((await jobRow(shortId!))?.state).toBe("completed");
    // Not lost: back in the queue for another worker to retry.
    expect((await jobRow(longId!))?.state).toBe("retry");
  });

  it("wakes on a ready job's notification (sent when its transaction commits), and on the due check for a delayed one", async () => {
    const ran: string[] = [];
    const recorded = defineJob({
      name: "test-wakeup-job",
      payload: z.object({ label: z.string() }),
      queue: { retryLimit: 0 },
      concurrency: 3,
      run: async ({ label }) => {
        ran.push(label);
        await sleep(300);
      },
    });
    // A due check far in the future: only the notification can start the first jobs.
    const notified = await startWorker({ databaseUrl, log, concurrency: 1, jobs: [recorded], dueCheckMs: 600_000 });
    try {
      const ids = await Promise.all(["a", "b", "c", "d"].map((label) => notified.boss.send(recorded.name, { label })));
      for (const id of ids) expect((await waitForState(id!, "completed", 10_000))?.state).toBe("completed");
      expect(ran.sort()).toEqual(["a", "b", "c", "d"]);
      // Inserted in a transaction: nothing is announced (or run) before it commits.
      const client = await pool.connect();
      await client.query("BEGIN");
      const { rows } = await client.query(
        `INSERT INTO pgboss.job (name, data) VALUES ($1, $2) RETURNING id`,
        [recorded.name, { label: "in-transaction" }],
      );
      await sleep(500);
      expect(ran).not.toContain("in-transaction");
      await client.query("COMMIT");
      client.release();
      expect((await waitForState(rows[0].id, "completed", 10_000))?.state).toBe("completed");
      // Due in a second: no notification when it becomes due, and this worker's due check sleeps.
      const delayed = await notified.boss.send(recorded.name, { label: "delayed" }, { startAfter: 1 });
      await sleep(2500);
      expect((await jobRow(delayed!))?.state).toBe("created");
    } finally {
      await notified.stop({ timeoutMs: 1000 });
    }
    // A worker with the usual due check finds it.
    const checking = await startWorker({ databaseUrl, log, concurrency: 1, jobs: [recorded], dueCheckMs: 200 });
    try {
      const later = await checking.boss.send(recorded.name, { label: "later" }, { startAfter: 1 });
      expect((await waitForState(later!, "completed", 10_000))?.state).toBe("completed");
      expect(ran).toContain("later");
    } finally {
      await checking.stop({ timeoutMs: 1000 });
    }
  });
});
