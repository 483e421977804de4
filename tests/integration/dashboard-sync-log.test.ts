// The sync log's keyset pagination and filters against Postgres: every row exactly once in order
// (ties in the same millisecond included), filters that narrow, and query plans that read the
// index instead of the table, so that a page costs the same at row 50 and at row 1,000,000.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prisma } from "@/lib/db/client";
import { db } from "@/lib/db/client";
import type { AuthorizedAccount } from "@/lib/features/dashboard/access";
import { syncLogPageQuery } from "@/lib/db/sync-log";
import { decodeCursor, parseLogQuery, readLogPage, type LogFilters, type LogCursor } from "@/lib/features/dashboard/sync-log";
import { createAccountRow, insertLogRows, type LogInput } from "./dashboard-fixtures";
import { closeConnections, sql } from "./kommo-fixtures";

let account: AuthorizedAccount;
const base = Date.parse("2026-03-01T12:00:00.000Z");
const at = (seconds: number, ms = 0) => new Date(base + seconds * 1000 + ms);

beforeAll(async () => {
  account = await createAccountRow();
  // 130 rows: one every second, every tenth a failure of lead 7, and three rows in one millisecond.
  const rows: LogInput[] = Array.from({ length: 127 }, (_, index) => ({
    leadId: index % 10 === 0 ? 7 : 100 + index,
    status: index % 10 === 0 ? "failed" : "ok",
    createdAt: at(index),
  }));
  rows.push(...[1, 2, 3].map((n): LogInput => ({ leadId: 900 + n, status: "skipped", createdAt: at(60, 500) })));
  await insertLogRows(account.id, rows);
});

afterAll(async () => {
  await closeConnections();
});

async function readAll(filters: LogFilters, pageSize: number) {
  const seen: string[] = [];
  const times: number[] = [];
  let cursor: LogCursor | null = null;
  let pages = 0;
  for (;;) {
    const page = await readLogPage(account, filters, cursor, pageSize);
    pages++;
    seen.push(...page.rows.map((row) => row.id));
    times.push(...page.rows.map((row) => row.createdAt.getTime()));
    if (!page.next) break;
    cursor = decodeCursor(page.next);
    expect(cursor).not.toBeNull();
  }
  return { seen, times, pages };
}

describe("sync log pages", () => {
  it("walk every row once, newest first, across pages and through rows of the same millisecond", async () => {
    const { seen, times, pages } = await readAll({}, 7);
    expect(seen).toHaveLength(130);
    expect(new Set(seen).size).toBe(130);
    expect(pages).toBe(Math.ceil(130 / 7));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("filter by outcome, lead and time range, and page within the filter", async () => {
    const failed = await readAll({ status: "failed" }, 4);
    expect(failed.seen).toHaveLength(13);
    const lead = await readLogPage(account, { leadId: 7 }, null, 50);
    expect(lead.rows.every((row) => row.leadId === 7 && row.status === "failed")).toBe(true);
    expect(lead.rows).toHaveLength(13);
    const window = await readAll({ from: at(10), to: at(20) }, 3);
    expect(window.seen).toHaveLength(10);
    expect(Math.max(...window.times)).toBe(at(19).getTime());
    expect(Math.min(...window.times)).toBe(at(10).getTime());
  });

  it("list open failures only: not the ones replayed, dismissed or covered by a later sync of the deal", async () => {
    const other = await createAccountRow();
    await insertLogRows(other.id, [
      { leadId: 1, status: "failed", createdAt: at(1), errorCode: "klaviyo_invalid_key" },
      { leadId: 2, status: "failed", createdAt: at(2), resolution: "replayed" },
      { leadId: 3, status: "failed", createdAt: at(3), resolution: "dismissed" },
      { leadId: 4, status: "failed", createdAt: at(4) },
      { leadId: 4, status: "ok", createdAt: at(5) },
      { leadId: 5, status: "retrying", createdAt: at(6) },
    ]);
    const page = await readLogPage(other, { openFailuresOnly: true }, null);
    expect(page.rows.map((row) => row.leadId)).toEqual([1]);
    expect(page.rows[0]).toMatchObject({ errorCode: "klaviyo_invalid_key", status: "failed", resolution: null });
  });

  it("never show another account's rows", async () => {
    const other = await createAccountRow();
    expect((await readLogPage(other, {}, null)).rows).toEqual([]);
  });
});

describe("sync log filters from the URL", () => {
  it("take status, lead and a UTC time range, and refuse what they cannot use", () => {
    const ok = parseLogQuery({ status: "failed", lead: "42", from: "2026-03-01T10:00", to: "2026-03-01T11:00", cursor: "" });
    expect(ok.success && ok.data.filters).toEqual({ status: "failed", leadId: 42, from: new Date("2026-03-01T10:00:00Z"), to: new Date("2026-03-01T11:00:00Z") });
    expect(parseLogQuery({ status: "exploded" }).success).toBe(false);
    expect(parseLogQuery({ lead: "-3" }).success).toBe(false);
    expect(parseLogQuery({ lead: "1; DROP TABLE" }).success).toBe(false);
    expect(parseLogQuery({ from: "2026-03-02T00:00", to: "2026-03-01T00:00" }).success).toBe(false);
    expect(parseLogQuery({ cursor: "bm90IGEgY3Vyc29y" }).success).toBe(false);
  });
});

type PlanNode = {
  "Node Type": string;
  "Index Name"?: string;
  "Relation Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
};

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe("sync log queries on a large table", () => {
  let big: AuthorizedAccount;
  let small: AuthorizedAccount;
  const PAGE = 51;

  beforeAll(async () => {
    big = await createAccountRow({ name: "Big account" });
    small = await createAccountRow({ name: "Small account" });
    const neighbours = [await createAccountRow(), await createAccountRow()];
    // 300,000 rows, a third of them the big account's, interleaved in time with two other accounts'
    // (one INSERT … SELECT); and a small account's 300 rows spread over the same months. Then fresh
    // planner statistics, as in production.
    await sql(
      `INSERT INTO "SyncLog" (id, "accountId", "leadId", trigger, status, "createdAt", "startedAt")
       SELECT gen_random_uuid(), ($1::uuid[])[1 + n % 3], 1 + (n % 5000), 'update_lead',
              (CASE WHEN n % 50 = 0 THEN 'failed' ELSE 'ok' END)::"SyncStatus",
              timestamp '2026-01-01' + n * interval '13 seconds', timestamp '2026-01-01' + n * interval '13 seconds'
       FROM generate_series(1, 300000) AS n`,
      [[big.id, ...neighbours.map((account) => account.id)]],
    );
    await sql(
      `INSERT INTO "SyncLog" (id, "accountId", "leadId", trigger, status, "createdAt", "startedAt")
       SELECT gen_random_uuid(), $1::uuid, n, 'update_lead', 'ok', timestamp '2026-01-01' + n * interval '13007 seconds', timestamp '2026-01-01'
       FROM generate_series(1, 300) AS n`,
      [small.id],
    );
    await sql(`ANALYZE "SyncLog"`);
  }, 120_000);

  /** The executed plan (EXPLAIN ANALYZE): which index each step used and how many rows it touched. */
  async function plan(account: AuthorizedAccount, filters: LogFilters, cursor: LogCursor | null): Promise<PlanNode[]> {
    const explained = await db().$queryRaw<{ "QUERY PLAN": [{ Plan: PlanNode }] }[]>(
      Prisma.sql`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${syncLogPageQuery(account.id, filters, cursor, PAGE)}`,
    );
    return nodes(explained[0]!["QUERY PLAN"][0].Plan);
  }

  /** Rows a step read from SyncLog, kept or filtered out, over all its loops. */
  const touched = (step: PlanNode) => ((step["Actual Rows"] ?? 0) + (step["Rows Removed by Filter"] ?? 0)) * (step["Actual Loops"] ?? 1);
  const logScans = (steps: PlanNode[]) => steps.filter((step) => step["Relation Name"] === "SyncLog");

  // A cursor deep into the big account's 100,000 rows.
  const deep: LogCursor = { createdAt: new Date("2026-01-10T00:00:00Z"), id: "00000000-0000-4000-8000-000000000000" };

  it("read a page, first or deep, of a busy or a quiet account from the (accountId, createdAt, id) index in its order: one page of rows, no sort", async () => {
    for (const account of [big, small]) {
      for (const cursor of [null, deep]) {
        const steps = await plan(account, {}, cursor);
        const scans = logScans(steps);
        expect(scans.map((step) => step["Index Name"])).toEqual(["SyncLog_accountId_createdAt_id_idx"]);
        // The rows of the page (and the one that says there is a next page), not the 100,000 before the cursor.
        expect(touched(scans[0]!)).toBeLessThanOrEqual(PAGE);
        expect(steps.some((step) => /Sort/.test(step["Node Type"]))).toBe(false);
      }
    }
  });

  it("read one deal's history through the (accountId, leadId, createdAt) index, touching only that deal's rows", async () => {
    const steps = await plan(big, { leadId: 42 }, deep);
    const [scan] = logScans(steps);
    expect(scan?.["Index Name"]).toBe("SyncLog_accountId_leadId_createdAt_idx");
    // Lead 42 has 20 rows in this account (every 15,000th row); none of the others is read.
    expect(touched(scan!)).toBeLessThanOrEqual(20);
  });

  it("find the open failures without reading the table through", async () => {
    const steps = await plan(big, { openFailuresOnly: true }, null);
    expect(logScans(steps).every((step) => step["Node Type"] !== "Seq Scan")).toBe(true);
    // The outer scan walks failures only (by the status index); each is checked for a later sync by an index probe.
    const [outer] = logScans(steps);
    expect(outer?.["Index Name"]).toMatch(/^SyncLog_accountId_(status|leadId)_/);
  });

  it("return a deep page of the big account correctly", async () => {
    const page = await readLogPage(big, {}, deep, 50);
    expect(page.rows).toHaveLength(50);
    expect(page.rows.every((row) => row.createdAt < deep.createdAt)).toBe(true);
    // The big account has every third row, 39 s apart, from 2026-01-01 00:00:39.
    const gaps = page.rows.slice(1).map((row, index) => page.rows[index]!.createdAt.getTime() - row.createdAt.getTime());
    expect(new Set(gaps)).toEqual(new Set([39_000]));
  });
});
