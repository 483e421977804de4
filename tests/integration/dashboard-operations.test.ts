// What the dashboard's buttons do to the database and the queue: replay (one, several, since a
// time, all), dismiss, pause and resume, register the webhook again, and what each refuses.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthorizedAccount } from "@/lib/features/dashboard/access";
import { dismissFailures, OperationRefusedError, replayFailures, reregisterWebhook, setPaused } from "@/lib/features/dashboard/operations";
import { db, numberIds } from "@/lib/db/client";
import { senderBoss } from "@/lib/jobs/boss";
import { DEAD_LETTER_QUEUE } from "@/lib/jobs/queues";
import { syncLeadSingletonKey } from "@/lib/features/sync/lead-jobs";
import type { KommoSimulator } from "../simulators/kommo";
import { insertLogRows } from "./dashboard-fixtures";
import { closeConnections, installAccount, jobsOf, sql, startKommo } from "./kommo-fixtures";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";

let kommo: KommoSimulator;

beforeAll(async () => {
  kommo = await startKommo();
});

afterAll(async () => {
  await closeConnections(kommo);
});

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

async function freshAccount(): Promise<AuthorizedAccount & { kommoAccountId: number }> {
  const installed = await installAccount(kommo);
  return numberIds(await db().account.findUniqueOrThrow({ where: { id: installed.accountId } })) as AuthorizedAccount;
}

async function pendingChange(accountId: string, leadId: number) {
  await sql(
    `INSERT INTO "InboundEvent" (id, "accountId", source, kind, "leadId", payload, "dedupeKey", "receivedAt")
     VALUES ($1, $2, 'kommo_webhook', 'status_lead', $3, '{}', $4, now())`,
    [randomUUID(), accountId, leadId, randomUUID()],
  );
}

const resolutions = async (accountId: string) =>
  Object.fromEntries(
    (await sql<{ leadId: number; resolution: string | null }>(`SELECT "leadId", resolution FROM "SyncLog" WHERE "accountId" = $1 AND status = 'failed'`, [accountId])).map((row) => [
      row.leadId,
      row.resolution,
    ]),
  );

const queuedLeads = async (accountId: string) =>
  (await jobsOf(syncLeadJob.name, accountId)).filter((job) => job.state === "created").map((job) => job.singleton_key);

async function deadLetter(accountId: string, leadId: number) {
  await (await senderBoss()).send(DEAD_LETTER_QUEUE, { accountId, leadId });
}

describe("replay", () => {
  it("enqueues the chosen deals once each, marks their failures replayed and clears their dead letters", async () => {
    const account = await freshAccount();
    const [one] = await insertLogRows(account.id, [
      { leadId: 1, status: "failed", createdAt: minutesAgo(5), errorCode: "klaviyo_invalid_key" },
      { leadId: 1, status: "failed", createdAt: minutesAgo(4), errorCode: "klaviyo_invalid_key" },
      { leadId: 2, status: "failed", createdAt: minutesAgo(60) },
      { leadId: 3, status: "failed", createdAt: minutesAgo(3), resolution: "dismissed" },
      { leadId: 4, status: "failed", createdAt: minutesAgo(9) },
      { leadId: 4, status: "ok", createdAt: minutesAgo(8) },
      { leadId: 5, status: "failed", createdAt: minutesAgo(2) },
    ]);
    await deadLetter(account.id, 1);
    await deadLetter(account.id, 5);

    // One failure's own button: the whole deal (both its failures), nothing else.
    expect(await replayFailures(account, { kind: "ids", ids: [one!] })).toEqual({ deals: 1 });
    expect(await resolutions(account.id)).toEqual({ 1: "replayed", 2: null, 3: "dismissed", 4: null, 5: null });
    expect(await queuedLeads(account.id)).toEqual([syncLeadSingletonKey(account.id, 1)]);
    expect((await jobsOf(DEAD_LETTER_QUEUE, account.id)).map((job) => job.data.leadId)).toEqual([5]);

    // Since a time: lead 5 (2 minutes ago), not lead 2 (an hour ago); lead 4 was fixed by a later sync.
    expect(await replayFailures(account, { kind: "since", since: minutesAgo(30) })).toEqual({ deals: 1 });
    expect((await resolutions(account.id))[5]).toBe("replayed");
    expect(await jobsOf(DEAD_LETTER_QUEUE, account.id)).toEqual([]);

    // All: what is left is lead 2; a second press finds nothing.
    expect(await replayFailures(account, { kind: "all" })).toEqual({ deals: 1 });
    expect(await replayFailures(account, { kind: "all" })).toEqual({ deals: 0 });
    expect(new Set(await queuedLeads(account.id))).toEqual(new Set([1, 2, 5].map((lead) => syncLeadSingletonKey(account.id, lead))));
    expect((await resolutions(account.id))[4]).toBeNull();
  });

  it("touches another account's failures never, even when given their ids", async () => {
    const mine = await freshAccount();
    const theirs = await freshAccount();
    const [foreign] = await insertLogRows(theirs.id, [{ leadId: 9, status: "failed", createdAt: minutesAgo(1) }]);
    expect(await replayFailures(mine, { kind: "ids", ids: [foreign!] })).toEqual({ deals: 0 });
    expect(await dismissFailures(mine, { kind: "ids", ids: [foreign!] })).toEqual({ deals: 0 });
    expect(await resolutions(theirs.id)).toEqual({ 9: null });
    expect(await jobsOf(syncLeadJob.name, theirs.id)).toEqual([]);
  });

  it("is refused while the account is paused or uninstalled, and changes nothing", async () => {
    const account = await freshAccount();
    await insertLogRows(account.id, [{ leadId: 1, status: "failed", createdAt: minutesAgo(1) }]);
    for (const state of [{ paused: true }, { status: "disconnected" as const }]) {
      const refused = await replayFailures({ ...account, ...state }, { kind: "all" }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(OperationRefusedError);
      expect((refused as OperationRefusedError).code).toBe(state.paused ? "account_paused" : "account_disconnected");
    }
    expect(await resolutions(account.id)).toEqual({ 1: null });
    expect(await jobsOf(syncLeadJob.name, account.id)).toEqual([]);
  });
});

describe("dismiss", () => {
  it("marks the deals' failures dismissed and drops the changes they carried, without a sync", async () => {
    const account = await freshAccount();
    const [failure] = await insertLogRows(account.id, [
      { leadId: 7, status: "failed", createdAt: minutesAgo(2) },
      { leadId: 8, status: "failed", createdAt: minutesAgo(2) },
    ]);
    await pendingChange(account.id, 7);
    await pendingChange(account.id, 7);
    await pendingChange(account.id, 8);
    await deadLetter(account.id, 7);
    expect(await dismissFailures(account, { kind: "ids", ids: [failure!] })).toEqual({ deals: 1 });
    expect(await resolutions(account.id)).toEqual({ 7: "dismissed", 8: null });
    const pending = await sql<{ leadId: number }>(`SELECT "leadId" FROM "InboundEvent" WHERE "accountId" = $1 AND "processedAt" IS NULL`, [account.id]);
    expect(pending.map((row) => row.leadId)).toEqual([8]);
    expect(await jobsOf(syncLeadJob.name, account.id)).toEqual([]);
    expect(await jobsOf(DEAD_LETTER_QUEUE, account.id)).toEqual([]);
  });
});

describe("pause and resume", () => {
  it("pause holds the account; resume enqueues every deal with a waiting change", async () => {
    const account = await freshAccount();
    expect(await setPaused(account, true)).toEqual({ queued: 0 });
    expect((await db().account.findUniqueOrThrow({ where: { id: account.id } })).paused).toBe(true);
    await pendingChange(account.id, 31);
    await pendingChange(account.id, 31);
    await pendingChange(account.id, 32);
    expect(await setPaused(account, false)).toEqual({ queued: 2 });
    expect((await db().account.findUniqueOrThrow({ where: { id: account.id } })).paused).toBe(false);
    expect(new Set(await queuedLeads(account.id))).toEqual(new Set([31, 32].map((lead) => syncLeadSingletonKey(account.id, lead))));
  });
});

describe("register the webhook again", () => {
  it("puts back a webhook deleted in Kommo and clears the reason shown for it", async () => {
    const account = await freshAccount();
    kommo.account(account.kommoAccountId).webhooks.length = 0;
    await db().account.update({ where: { id: account.id }, data: { webhookRegisteredAt: null, statusReason: "Kommo did not accept the deal webhook (test)" } });
    expect(await reregisterWebhook(account)).toEqual({ registered: true });
    expect(kommo.account(account.kommoAccountId).webhooks).toHaveLength(1);
    const stored = await db().account.findUniqueOrThrow({ where: { id: account.id } });
    expect(stored.webhookRegisteredAt).not.toBeNull();
    expect(stored.statusReason).toBeNull();
  });

  it("is refused until Kommo access is granted again, keeping the reason the account already shows", async () => {
    const account = await freshAccount();
    const reason = "Kommo rejected the refresh token: reinstall";
    await db().account.update({ where: { id: account.id }, data: { status: "needs_reauth", statusReason: reason } });
    const refused = await reregisterWebhook({ ...account, status: "needs_reauth" }).catch((error: unknown) => error);
    expect((refused as OperationRefusedError).code).toBe("kommo_reauth_required");
    expect((await db().account.findUniqueOrThrow({ where: { id: account.id } })).statusReason).toBe(reason);
  });
});
