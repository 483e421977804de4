// The sync's own statements on the deal (lib/db/deals.ts, plain SQL): the lease that returns the
// account and the stored state, and the outcome statement that writes the sync-log row, marks the
// changes processed and records the deal, all or nothing, and may release the lease.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { db, idNumber } from "@/lib/db/client";
import { releaseDealLease, saveSyncOutcome, takeDealLease } from "@/lib/db/deals";
import { insertInboundEvents, pendingEventsOfLead } from "@/lib/db/inbound-events";
import { closeSqlPool, inTransaction } from "@/lib/db/sql-pool";
import type { SyncAttempt } from "@/lib/db/sync-log";
import { insertBareAccount } from "./account-rows";

afterAll(async () => {
  await closeSqlPool();
  await db().$disconnect();
});

const newAccount = async () => (await insertBareAccount()).id;

/** The deal's state when `owner` gets the lease now, null when it does not. */
async function leaseDeal(accountId: string, leadId: number, owner: string) {
  return (await takeDealLease(accountId, leadId, owner, 60)).deal;
}

function attempt(accountId: string, leadId: number, overrides: Partial<SyncAttempt> = {}): SyncAttempt {
  const startedAt = new Date(Date.now() - 250);
  return {
    accountId,
    leadId,
    trigger: "status_lead",
    status: "ok",
    operations: [{ type: "createEvent", target: "Stage Changed" }],
    error: null,
    errorCode: null,
    attempt: 1,
    jobId: randomUUID(),
    kommoCalls: 1,
    klaviyoCalls: 1,
    startedAt,
    finishedAt: new Date(),
    ...overrides,
  };
}

describe("the deal's lease and the sync's outcome", () => {
  it("reads the account with the lease, its Kommo id as a number past 2^31, and leases nothing of a paused or disconnected account", async () => {
    const { id: accountId, kommoAccountId } = await insertBareAccount();
    const taken = await takeDealLease(accountId, 4_000_000_000, "job", 60);
    expect(taken.account).toMatchObject({ id: accountId, kommoAccountId, status: "installed", paused: false, settings: {}, kommoWebhookId: null });
    expect(taken.account!.installedAt).toBeInstanceOf(Date);
    expect(Object.keys(taken.account!).sort()).toEqual(Object.keys(await db().account.findUniqueOrThrow({ where: { id: accountId } })).sort());
    expect(taken.deal).toMatchObject({ leadId: 4_000_000_000 });
    expect(await takeDealLease(randomUUID(), 4_000_000_000, "job", 60)).toEqual({ account: null, deal: null });

    for (const state of [{ paused: true }, { status: "disconnected" as const }]) {
      const other = await newAccount();
      await db().account.update({ where: { id: other }, data: state });
      const refused = await takeDealLease(other, 4_000_000_000, "job", 60);
      expect(refused.account).toMatchObject({ id: other, ...state });
      expect(refused.deal).toBeNull();
      expect(await db().deal.count({ where: { accountId: other } })).toBe(0);
    }
  });

  it("gives the lease to one owner at a time, with the deal's stored state, and again once released", async () => {
    const accountId = await newAccount();
    const leadId = 4_000_000_001;
    const first = await leaseDeal(accountId, leadId, "job-a");
    expect(first).toMatchObject({ leadId, lastSyncedAt: null, listIds: [], email: null });
    expect(await leaseDeal(accountId, leadId, "job-b")).toBeNull();
    // The owner may take it again (a retried step of the same job).
    expect(await leaseDeal(accountId, leadId, "job-a")).not.toBeNull();
    await releaseDealLease(accountId, leadId, "job-b");
    expect(await leaseDeal(accountId, leadId, "job-b")).toBeNull();
    await releaseDealLease(accountId, leadId, "job-a");
    expect(await leaseDeal(accountId, leadId, "job-b")).not.toBeNull();
    await releaseDealLease(accountId, leadId, "job-b");
  });

  it("writes the log row, marks the changes processed and records what Klaviyo holds, in one statement", async () => {
    const accountId = await newAccount();
    const leadId = 4_000_000_002;
    const rows = await inTransaction((client) =>
      insertInboundEvents(client, accountId, "kommo_webhook", [
        { kind: "status_lead", leadId, contactId: null, changedAt: null, payload: {}, dedupeKey: `a:${leadId}` },
        { kind: "update_lead", leadId, contactId: null, changedAt: null, payload: {}, dedupeKey: `b:${leadId}` },
      ]),
    );
    await leaseDeal(accountId, leadId, "job");
    const applied = { pipelineId: 3_000_000_007, statusId: 3_000_000_008, stageName: "Contract", email: "a@example.com", listIds: ["L1", "L2"], profileFingerprint: "f".repeat(32) };
    await saveSyncOutcome(attempt(accountId, leadId), rows.map((row) => row.id), {
      seen: { deleted: false, contactId: 3_000_000_009 },
      applied: { ...applied, profileId: "01PROFILE" },
    });

    expect(await pendingEventsOfLead(accountId, leadId)).toEqual([]);
    const leased = await leaseDeal(accountId, leadId, "job");
    expect(leased).toMatchObject({ ...applied, klaviyoProfileId: "01PROFILE", mainContactId: 3_000_000_009, lastSyncStatus: "ok", lastError: null, deletedAt: null });
    expect(leased!.lastSyncedAt).toBeInstanceOf(Date);
    const log = await db().syncLog.findMany({ where: { accountId } });
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ status: "ok", trigger: "status_lead", kommoCalls: 1, klaviyoCalls: 1, operations: [{ type: "createEvent", target: "Stage Changed" }] });
    expect(idNumber(log[0]!.leadId)).toBe(leadId);
    expect(log[0]!.durationMs).toBeGreaterThanOrEqual(250);

    // A failed attempt keeps the changes pending and what Klaviyo holds; the deal shows the error.
    const [later] = await inTransaction((client) =>
      insertInboundEvents(client, accountId, "kommo_webhook", [{ kind: "status_lead", leadId, contactId: null, changedAt: null, payload: {}, dedupeKey: `c:${leadId}` }]),
    );
    await saveSyncOutcome(attempt(accountId, leadId, { status: "retrying", error: "Klaviyo did not answer", errorCode: "klaviyo_timeout", klaviyoCalls: 3 }), [], {});
    expect((await pendingEventsOfLead(accountId, leadId)).map((event) => event.id)).toEqual([later!.id]);
    expect(await leaseDeal(accountId, leadId, "job")).toMatchObject({ ...applied, klaviyoProfileId: "01PROFILE", lastSyncStatus: "retrying", lastError: "Klaviyo did not answer" });

    // Kommo no longer has the deal: marked deleted, the rest left as it was.
    await saveSyncOutcome(attempt(accountId, leadId, { status: "skipped", error: "deleted in Kommo" }), [later!.id], { seen: { deleted: true, contactId: null } });
    const deleted = await leaseDeal(accountId, leadId, "job");
    expect(deleted).toMatchObject({ mainContactId: 3_000_000_009, stageName: "Contract", lastSyncStatus: "skipped" });
    expect(deleted!.deletedAt).toBeInstanceOf(Date);
    await releaseDealLease(accountId, leadId, "job");
  });

  it("releases the lease with the outcome when asked by its owner, and leaves another owner's lease alone", async () => {
    const accountId = await newAccount();
    const leadId = 4_000_000_003;
    expect(await leaseDeal(accountId, leadId, "job-a")).not.toBeNull();
    // Not the owner: the outcome is written, the lease stays with job-a.
    await saveSyncOutcome(attempt(accountId, leadId), [], {}, "job-b");
    expect(await leaseDeal(accountId, leadId, "job-c")).toBeNull();
    // Written without a release: still held.
    await saveSyncOutcome(attempt(accountId, leadId), [], {});
    expect(await leaseDeal(accountId, leadId, "job-c")).toBeNull();
    // The owner's last write ends it.
    await saveSyncOutcome(attempt(accountId, leadId, { status: "failed", error: "no key" }), [], {}, "job-a");
    expect(await leaseDeal(accountId, leadId, "job-c")).toMatchObject({ lastSyncStatus: "failed", lastError: "no key" });
    await releaseDealLease(accountId, leadId, "job-c");
    expect(await db().syncLog.count({ where: { accountId } })).toBe(3);
  });
});
