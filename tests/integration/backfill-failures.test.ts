// A backfill run that cannot make progress ends as failed, with a reason a person can act on, and
// never runs for ever: a failure a person must fix ends it at once; the same unexplained failure,
// repeated with no deal imported in between, ends it after a few attempts, however many fresh jobs
// the minute tick hands it to (each starts with a fresh retry count); a saved chunk starts the
// count again. The failures are real: the database refuses the import's writes through a trigger
// (the first one exactly as a 32-bit lead id column once did), or Kommo's access is revoked.
import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as getBackfill } from "@/app/api/widget/backfill/route";
import { db } from "@/lib/db/client";
import { backfillJob } from "@/lib/features/backfill/backfill-job";
import { SAME_FAILURE_LIMIT } from "@/lib/features/backfill/failures";
import { resumeBackfills } from "@/lib/features/schedule/account-tick";
import type { JobContext } from "@/lib/jobs/worker";
import { callWidget, connectKlaviyo, startSimulators, stopSimulators } from "./account-fixtures";
import { installAccount, sql, type InstalledAccount } from "./kommo-fixtures";
import type { KlaviyoSimulator } from "../simulators/klaviyo";
import type { KommoSimulator } from "../simulators/kommo";

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
const accounts: string[] = [];

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators());
});

afterAll(async () => {
  await sql(`DROP TRIGGER IF EXISTS backfill_test_refuse ON "Deal"`);
  await sql(`DROP FUNCTION IF EXISTS backfill_test_refuse()`);
  // Leave nothing due for later test files' workers: these accounts' simulators are about to go.
  if (accounts.length > 0) await sql(`UPDATE "Account" SET paused = true WHERE id = ANY($1::uuid[])`, [accounts]);
  await stopSimulators({ kommo, klaviyo });
});

/** Until dropped, every new Deal row is refused with this SQLSTATE and message. */
async function refuseDealRows(sqlState: string, message: string) {
  await sql(`CREATE OR REPLACE FUNCTION backfill_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION USING ERRCODE = '${sqlState}', MESSAGE = '${message.replace(/'/g, "''")}'; END $$`);
  await sql(`DROP TRIGGER IF EXISTS backfill_test_refuse ON "Deal"`);
  await sql(`CREATE TRIGGER backfill_test_refuse BEFORE INSERT ON "Deal" FOR EACH ROW EXECUTE FUNCTION backfill_test_refuse()`);
}

async function acceptDealRows() {
  await sql(`DROP TRIGGER IF EXISTS backfill_test_refuse ON "Deal"`);
}

/** An installed account with two deals whose admin connected Klaviyo: its first import waits, queued. */
async function accountWithRun(key: string): Promise<{ installed: InstalledAccount; runId: string }> {
  const installed = await installAccount(kommo);
  accounts.push(installed.accountId);
  const store = klaviyo.createAccount(`Store ${installed.subdomain}`);
  klaviyo.addKey(key, { account: store });
  const pipeline = kommo.seedPipeline(installed.kommoAccountId, { name: "Sales", stages: ["Qualified"], isMain: true });
  for (const name of ["ada", "bob"]) {
    const contact = kommo.seedContact(installed.kommoAccountId, { firstName: name, lastName: "Test", emails: [`${name}@example.com`] });
    kommo.seedLead(installed.kommoAccountId, { name, pipelineId: pipeline.id, statusId: pipeline.statuses[1]!.id, contactIds: [contact.id] });
  }
  await connectKlaviyo(kommo, installed, key);
  const run = await db().backfillRun.findFirstOrThrow({ where: { accountId: installed.accountId } });
  return { installed, runId: run.id };
}

/** One job of the run, as the worker would run it: a job the minute tick queued starts at retry 0. */
async function runJob(runId: string, retryCount = 0): Promise<"retry" | "done"> {
  const context: JobContext = { id: randomUUID(), queue: "backfill", retryCount, retryLimit: 8, log: pino({ level: "silent" }) };
  try {
    await backfillJob.handle({ runId }, context);
    return "done";
  } catch {
    return "retry";
  }
}

const runRow = (runId: string) => db().backfillRun.findUniqueOrThrow({ where: { id: runId } });

describe("a backfill run that cannot make progress", () => {
  it("ends at once when the database refuses its data, with the database's words and what to do", async () => {
    const { installed, runId } = await accountWithRun("pk_backfill_refused_0123456789");
    await refuseDealRows("22003", 'value "3000000000" is out of range for type integer');
    try {
      expect(await runJob(runId)).toBe("done"); // nothing for the queue to retry
    } finally {
      await acceptDealRows();
    }
    const run = await runRow(runId);
    expect(run).toMatchObject({ status: "failed", done: 0, finishedAt: expect.any(Date) });
    expect(run.lastError).toContain('value "3000000000" is out of range for type integer');
    expect(run.lastError).toMatch(/fault in Klaviyo Sync.*start the import again/);
    // The widget shows it as stopped, with the reason; the minute tick does not pick it up again.
    expect((await callWidget(kommo, installed, getBackfill as Parameters<typeof callWidget>[2], "GET")).body).toMatchObject({ status: "failed", lastError: run.lastError });
    await sql(`UPDATE "BackfillRun" SET "updatedAt" = now() - interval '1 hour' WHERE id = $1`, [runId]);
    expect(await resumeBackfills()).toBe(0);
  });

  it(`ends after the same unexplained failure ${SAME_FAILURE_LIMIT} times in a row, though each attempt is a fresh job`, async () => {
    const { runId } = await accountWithRun("pk_backfill_repeated_0123456789");
    await refuseDealRows("P0001", "deal rows are refused for this test");
    try {
      for (let attempt = 1; attempt < SAME_FAILURE_LIMIT; attempt++) {
        expect(await runJob(runId), `attempt ${attempt}`).toBe("retry");
        const run = await runRow(runId);
        expect(run).toMatchObject({ status: "running", lastError: "deal rows are refused for this test" });
        expect(run.cursor).toMatchObject({ failures: { inARow: attempt, sameMessage: attempt, message: "deal rows are refused for this test" } });
      }
      expect(await runJob(runId)).toBe("done");
    } finally {
      await acceptDealRows();
    }
    const run = await runRow(runId);
    expect(run.status).toBe("failed");
    expect(run.lastError).toBe(
      `deal rows are refused for this test (the same error ${SAME_FAILURE_LIMIT} times in a row, no deals imported in between). Start the import again; if it stops the same way, tell Klaviyo Sync's operator`,
    );
  });

  it("starts the count again once a chunk is saved, and completes", async () => {
    const { runId } = await accountWithRun("pk_backfill_recovers_0123456789");
    await refuseDealRows("P0001", "deal rows are refused for a moment");
    try {
      for (let attempt = 1; attempt < SAME_FAILURE_LIMIT; attempt++) expect(await runJob(runId)).toBe("retry");
    } finally {
      await acceptDealRows();
    }
    expect(await runJob(runId)).toBe("done");
    const run = await runRow(runId);
    expect(run).toMatchObject({ status: "completed", done: 2, total: 2 });
    expect(run.cursor).toMatchObject({ failures: null });
  });

  it("ends at once when Kommo's access is revoked, saying what to do", async () => {
    const { installed, runId } = await accountWithRun("pk_backfill_revoked_0123456789");
    kommo.revokeAccess(installed.kommoAccountId);
    kommo.expireAccessTokens(installed.kommoAccountId);
    expect(await runJob(runId)).toBe("done");
    const run = await runRow(runId);
    expect(run).toMatchObject({ status: "failed", done: 0 });
    expect(run.lastError).toMatch(/must reinstall or re-authorize Klaviyo Sync.*Once that is fixed, start the import again$/);
  });
});
