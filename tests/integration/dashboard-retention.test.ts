// Retention of the sync log: old rows go, in batches; failures nobody dealt with stay however old;
// an old failure that a later sync of its deal covered is marked superseded and goes too. The
// scheduled job is registered with the worker and runs daily.
import { afterAll, describe, expect, it } from "vitest";
import { pruneSyncLog, pruneSyncLogJob } from "@/lib/features/dashboard/retention";
import { ALL_JOBS } from "@/lib/worker";
import { createAccountRow, insertLogRows } from "./dashboard-fixtures";
import { closeConnections, sql } from "./kommo-fixtures";

afterAll(async () => {
  await closeConnections();
});

// A "now" years before any other test's rows, so that pruning touches this file's rows only.
const now = new Date("2020-06-01T00:00:00Z");
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);

describe("sync-log retention", () => {
  it("deletes rows older than the retention in batches and keeps open failures and recent rows", async () => {
    const account = await createAccountRow();
    await insertLogRows(account.id, [
      { leadId: 1, status: "ok", createdAt: daysAgo(40) },
      { leadId: 1, status: "skipped", createdAt: daysAgo(39) },
      { leadId: 2, status: "retrying", createdAt: daysAgo(38) },
      { leadId: 3, status: "failed", createdAt: daysAgo(37), resolution: "replayed" },
      { leadId: 4, status: "failed", createdAt: daysAgo(36), resolution: "dismissed" },
      { leadId: 5, status: "failed", createdAt: daysAgo(45), errorCode: "klaviyo_invalid_key" },
      { leadId: 6, status: "failed", createdAt: daysAgo(44) },
      { leadId: 6, status: "ok", createdAt: daysAgo(43) },
      { leadId: 7, status: "ok", createdAt: daysAgo(29) },
      { leadId: 8, status: "failed", createdAt: daysAgo(2) },
    ]);
    const result = await pruneSyncLog({ olderThanDays: 30, now, batchSize: 2 });
    expect(result).toEqual({ superseded: 1, deleted: 7 });
    const left = await sql<{ leadId: number; status: string; resolution: string | null }>(
      `SELECT "leadId", status::text AS status, resolution FROM "SyncLog" WHERE "accountId" = $1 ORDER BY "createdAt"`,
      [account.id],
    );
    expect(left).toEqual([
      { leadId: 5, status: "failed", resolution: null },
      { leadId: 7, status: "ok", resolution: null },
      { leadId: 8, status: "failed", resolution: null },
    ]);
    expect(await pruneSyncLog({ olderThanDays: 30, now })).toEqual({ superseded: 0, deleted: 0 });
  });

  it("runs as a daily scheduled job of its own queue", () => {
    expect(pruneSyncLogJob.cron).toBe("17 3 * * *");
    expect(ALL_JOBS).toContain(pruneSyncLogJob);
  });
});
