// GET /api/metrics: off without METRICS_TOKEN, 401 without the right bearer token, and Prometheus
// text whose numbers are the database's (the sync log and pg-boss's jobs), so that every web
// process answers the same whatever worker did the work.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { GET } from "@/app/api/metrics/route";
import { resetEnvForTests } from "@/lib/platform/env";
import { senderBoss } from "@/lib/jobs/boss";
import { DEAD_LETTER_QUEUE } from "@/lib/jobs/queues";
import { createAccountRow, insertLogRows } from "./dashboard-fixtures";
import { closeConnections, sql } from "./kommo-fixtures";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";

const TOKEN = "metrics-token-for-the-integration-tests";

afterEach(() => {
  delete process.env.METRICS_TOKEN;
  resetEnvForTests();
});

afterAll(async () => {
  await closeConnections();
});

const scrape = (authorization?: string) => GET(new Request("http://127.0.0.1/api/metrics", { headers: authorization ? { authorization } : {} }));

function reader(text: string) {
  return (name: string, labels: Record<string, string> = {}) => {
    const labelText = Object.entries(labels)
      .map(([key, value]) => `${key}="${value}"`)
      .join(",");
    const line = text.split("\n").find((candidate) => candidate.startsWith(labelText ? `${name}{${labelText}} ` : `${name} `));
    return line === undefined ? undefined : Number(line.split(" ").pop());
  };
}

describe("GET /api/metrics", () => {
  it("is off until METRICS_TOKEN is set, then demands it", async () => {
    expect((await scrape(`Bearer ${TOKEN}`)).status).toBe(404);
    process.env.METRICS_TOKEN = TOKEN;
    resetEnvForTests();
    const missing = await scrape();
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await scrape(`Bearer ${TOKEN}x`)).status).toBe(401);
    expect((await scrape(`Basic ${TOKEN}`)).status).toBe(401);
    expect((await scrape(`Bearer ${TOKEN}`)).status).toBe(200);
  });

  it("reports sync outcomes, API calls, 429s, durations, queues and open failures as the database holds them", async () => {
    process.env.METRICS_TOKEN = TOKEN;
    resetEnvForTests();
    const before = reader(await (await scrape(`Bearer ${TOKEN}`)).text());

    const account = await createAccountRow();
    const recent = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    await insertLogRows(account.id, [
      { leadId: 1, status: "ok", createdAt: recent(1), kommoCalls: 2, klaviyoCalls: 3, durationMs: 400 },
      { leadId: 2, status: "ok", createdAt: recent(2), kommoCalls: 1, klaviyoCalls: 2, durationMs: 600 },
      { leadId: 3, status: "retrying", createdAt: recent(3), errorCode: "klaviyo_rate_limited", kommoCalls: 1, klaviyoCalls: 4 },
      { leadId: 4, status: "retrying", createdAt: recent(30), errorCode: "kommo_rate_limited", kommoCalls: 3 },
      { leadId: 5, status: "failed", createdAt: recent(90), errorCode: "klaviyo_invalid_key", klaviyoCalls: 1 },
    ]);
    const boss = await senderBoss();
    await boss.send(syncLeadJob.name, { accountId: account.id, leadId: 6 });
    await boss.send(DEAD_LETTER_QUEUE, { accountId: account.id, leadId: 5 });

    const response = await scrape(`Bearer ${TOKEN}`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    const after = reader(text);
    const grew = (name: string, labels: Record<string, string> = {}) => after(name, labels)! - (before(name, labels) ?? 0);

    expect(grew("kss_sync_runs", { status: "ok", window: "5m" })).toBe(2);
    expect(grew("kss_sync_runs", { status: "retrying", window: "5m" })).toBe(1);
    expect(grew("kss_sync_runs", { status: "retrying", window: "1h" })).toBe(2);
    expect(grew("kss_sync_runs", { status: "failed", window: "1h" })).toBe(0);
    expect(grew("kss_sync_runs", { status: "failed", window: "24h" })).toBe(1);
    expect(grew("kss_api_calls", { api: "kommo", window: "5m" })).toBe(4);
    expect(grew("kss_api_calls", { api: "klaviyo", window: "24h" })).toBe(10);
    expect(grew("kss_rate_limited_syncs", { api: "klaviyo", window: "5m" })).toBe(1);
    expect(grew("kss_rate_limited_syncs", { api: "kommo", window: "1h" })).toBe(1);
    expect(grew("kss_queue_jobs", { queue: syncLeadJob.name, state: "created" })).toBe(1);
    expect(grew("kss_queue_jobs", { queue: DEAD_LETTER_QUEUE, state: "created" })).toBe(1);
    expect(grew("kss_open_failures")).toBe(1);
    expect(after("kss_queue_oldest_waiting_seconds", { queue: syncLeadJob.name })).toBeGreaterThanOrEqual(0);
    expect(after("kss_sync_duration_seconds", { quantile: "0.5", window: "5m" })).toBeGreaterThan(0);

    // Cross-check against the database as a whole, not only this test's rows.
    const [counts] = await sql<{ ok: number; accounts: number }>(`
      SELECT (SELECT count(*)::int FROM "SyncLog" WHERE status = 'ok' AND "createdAt" >= now() - interval '24 hours') AS ok,
             (SELECT count(*)::int FROM "Account" WHERE status = 'installed' AND NOT paused) AS accounts`);
    expect(after("kss_sync_runs", { status: "ok", window: "24h" })).toBe(counts!.ok);
    expect(after("kss_accounts", { status: "installed", paused: "false" })).toBe(counts!.accounts);
    for (const help of ["kss_sync_runs", "kss_api_calls", "kss_queue_jobs", "kss_open_failures"]) expect(text).toContain(`# HELP ${help} `);
  });
});
