// Reconciliation and deletion against both simulators: a change whose Kommo webhook was dropped is
// found in Kommo's events feed and synced; a change seen both ways reaches Klaviyo once; a deleted
// lead leaves its stage's list (by webhook, or by the feed when the webhook was lost); a deleted
// contact is erased from Klaviyo only when the account asked for it.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db, numberIds } from "@/lib/db/client";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { reconcileAccount } from "@/lib/features/reconcile/reconcile";
import { connectKlaviyo, startSimulators, stopSimulators } from "./account-fixtures";
import { deliverCrmWebhook, installAccount, sql, type InstalledAccount } from "./kommo-fixtures";
import { deletionRequests, type KlaviyoSimulator, type SimAccount } from "../simulators/klaviyo";
import { deleteContact, deleteLead, LOST, WON, type KommoSimulator } from "../simulators/kommo";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
let worker: RunningWorker;
const accounts: string[] = [];

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators());
  worker = await startWorker({
    databaseUrl: process.env.DATABASE_URL!,
    jobs: [syncLeadJob],
    log: pino({ level: "silent" }),
    concurrency: 2,
      });
});

afterAll(async () => {
  await worker.stop({ timeoutMs: 2000 });
  if (accounts.length > 0) await sql(`UPDATE "Account" SET paused = true WHERE id = ANY($1::uuid[])`, [accounts]);
  await stopSimulators({ kommo, klaviyo });
});

type Scenario = { installed: InstalledAccount; store: SimAccount; pipelineId: number; incoming: number; negotiation: number; lists: { negotiation: string; won: string; lost: string; all: string } };

async function setUp(key: string, settings: Record<string, unknown> = {}): Promise<Scenario> {
  const installed = await installAccount(kommo);
  accounts.push(installed.accountId);
  const store = klaviyo.createAccount(`Store ${installed.subdomain}`);
  klaviyo.addKey(key, { account: store });
  const pipeline = kommo.seedPipeline(installed.kommoAccountId, { name: "Sales", stages: ["Negotiation"], isMain: true });
  const incoming = pipeline.statuses.find((status) => status.type === 1)!.id;
  const negotiation = pipeline.statuses.find((status) => status.name === "Negotiation")!.id;
  const lists = { negotiation: store.createList("Negotiating").id, won: store.createList("Customers").id, lost: store.createList("Win-back").id, all: store.createList("All CRM deals").id };
  await connectKlaviyo(kommo, installed, key, {
    stageLists: [
      { pipelineId: pipeline.id, statusId: negotiation, listId: lists.negotiation },
      { pipelineId: pipeline.id, statusId: WON, listId: lists.won },
      { pipelineId: pipeline.id, statusId: LOST, listId: lists.lost },
    ],
    allDealsListId: lists.all,
    removeFromPreviousList: true,
    ...settings,
  });
  return { installed, store, pipelineId: pipeline.id, incoming, negotiation, lists };
}

async function deliver(scenario: Scenario, body: string) {
  await deliverCrmWebhook(scenario.installed.hookKey, body);
}

const leadBody = (scenario: Scenario, leadId: number, action: "add" | "status" | "delete", oldStatusId?: number) =>
  kommo.leadWebhookBody(scenario.installed.kommoAccountId, leadId, action, oldStatusId === undefined ? {} : { oldStatusId });

/** Every recorded change of the account has been applied and no sync job is left. */
async function drained(accountId: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [pending] = await sql<{ events: string; jobs: string }>(
      `SELECT (SELECT count(*) FROM "InboundEvent" WHERE "accountId" = $1 AND "processedAt" IS NULL AND "leadId" IS NOT NULL) AS events,
              (SELECT count(*) FROM pgboss.job WHERE name = 'sync-lead' AND data->>'accountId' = $1::text AND state IN ('created', 'retry', 'active')) AS jobs`,
      [accountId],
    );
    if (Number(pending!.events) === 0 && Number(pending!.jobs) === 0) return;
    if (Date.now() > deadline) throw new Error(`not drained: ${JSON.stringify(pending)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Reconcile as the scheduled job does, without the grace period given to webhooks in flight (the
 * simulator's change times may be a second ahead of the clock: Kommo moves updated_at on).
 */
const reconcileNow = (scenario: Scenario) => reconcileAccount(scenario.installed.accountId, { now: new Date(Date.now() + 2000), graceMs: 0 });

function seedDeal(scenario: Scenario, name: string) {
  const contact = kommo.seedContact(scenario.installed.kommoAccountId, { firstName: name, lastName: "Test", emails: [`${name}@example.com`] });
  const lead = kommo.seedLead(scenario.installed.kommoAccountId, { name: `${name}'s deal`, price: 500, pipelineId: scenario.pipelineId, statusId: scenario.incoming, contactIds: [contact.id] });
  return { leadId: lead.id, contactId: contact.id, email: `${name}@example.com` };
}

const stageChanges = (store: SimAccount, email: string) =>
  store.eventsNamed("Stage Changed", email).map((event) => [event.properties.previous_stage, event.properties.deal_stage]);
const inList = (store: SimAccount, listId: string, email: string) => store.membersOf(listId).some((profile) => profile.email === email);

describe("reconciliation", () => {
  it("syncs a status change whose webhook was dropped, and a change seen both ways only once", async () => {
    const scenario = await setUp("pk_reconcile_dropped_0123456789");
    const { store, installed } = scenario;
    const ada = seedDeal(scenario, "ada");
    await deliver(scenario, leadBody(scenario, ada.leadId, "add"));
    await drained(installed.accountId);

    // Moved to Negotiation in Kommo; the webhook never comes.
    kommo.updateLead(installed.kommoAccountId, ada.leadId, { status_id: scenario.negotiation });
    const movedAt = kommo.account(installed.kommoAccountId).leads.get(ada.leadId)!.updated_at;
    const first = await reconcileNow(scenario);
    expect(first).toMatchObject({ recorded: 1, leads: 1 });
    await drained(installed.accountId);
    expect(stageChanges(store, ada.email)).toEqual([["Incoming leads", "Negotiation"]]);
    expect(store.eventsNamed("Stage Changed", ada.email)[0]!.timestamp).toBe(movedAt);
    expect(inList(store, scenario.lists.negotiation, ada.email)).toBe(true);
    const recorded = (await db().inboundEvent.findMany({ where: { accountId: installed.accountId, source: "reconciliation" } })).map(numberIds);
    expect(recorded.map((event) => [event.kind, event.leadId, event.processedAt !== null])).toEqual([["status_lead", ada.leadId, true]]);

    // Reading the feed again finds nothing new.
    expect(await reconcileNow(scenario)).toMatchObject({ recorded: 0 });

    // Won, with its webhook: the feed sees the change too, but it is covered.
    kommo.updateLead(installed.kommoAccountId, ada.leadId, { status_id: WON });
    await deliver(scenario, leadBody(scenario, ada.leadId, "status", scenario.negotiation));
    await drained(installed.accountId);
    expect(await reconcileNow(scenario)).toMatchObject({ recorded: 0 });

    // Lost: the feed finds it first, then Kommo's late retry of the webhook arrives. Klaviyo gets it once.
    kommo.updateLead(installed.kommoAccountId, ada.leadId, { status_id: LOST });
    expect(await reconcileNow(scenario)).toMatchObject({ recorded: 1 });
    await drained(installed.accountId);
    await deliver(scenario, leadBody(scenario, ada.leadId, "status", WON));
    await drained(installed.accountId);
    expect(stageChanges(store, ada.email)).toEqual([
      ["Incoming leads", "Negotiation"],
      ["Negotiation", "Won"],
      ["Won", "Lost"],
    ]);
    expect(store.eventsNamed("Deal Won", ada.email)).toHaveLength(1);
    expect(store.eventsNamed("Deal Lost", ada.email)).toHaveLength(1);
    expect(inList(store, scenario.lists.lost, ada.email)).toBe(true);
    expect(inList(store, scenario.lists.won, ada.email)).toBe(false);
    expect(klaviyo.invalidRequests()).toEqual([]);
  });

  it("records a deal created while webhooks were lost, with one read of the feed", async () => {
    const scenario = await setUp("pk_reconcile_created_0123456789");
    const bob = seedDeal(scenario, "bob");
    kommo.resetCounters();
    const result = await reconcileNow(scenario);
    expect(result).toMatchObject({ events: 1, recorded: 1, leads: 1, calls: 1 });
    await drained(scenario.installed.accountId);
    expect(scenario.store.eventsNamed("Deal Created", bob.email)).toHaveLength(1);
    expect(scenario.store.eventsNamed("Deal Created", bob.email)[0]!.backfill).toBe(false);
    expect(inList(scenario.store, scenario.lists.all, bob.email)).toBe(true);
    expect(kommo.count("GET /api/v4/events", { accountId: scenario.installed.kommoAccountId })).toBe(1);
  });
});

describe("deletion", () => {
  it("a lead deleted in Kommo leaves its stage's list, by webhook or, when that is lost, by reconciliation", async () => {
    const scenario = await setUp("pk_deletion_lead_0123456789");
    const { store, installed } = scenario;
    const cara = seedDeal(scenario, "cara");
    const dan = seedDeal(scenario, "dan");
    for (const deal of [cara, dan]) {
      kommo.updateLead(installed.kommoAccountId, deal.leadId, { status_id: scenario.negotiation });
      await deliver(scenario, leadBody(scenario, deal.leadId, "add"));
    }
    await drained(installed.accountId);
    for (const deal of [cara, dan]) expect(inList(store, scenario.lists.negotiation, deal.email)).toBe(true);

    // Cara's deal is deleted and Kommo tells us.
    deleteLead(kommo.store, installed.kommoAccountId, cara.leadId);
    await deliver(scenario, leadBody(scenario, cara.leadId, "delete"));
    await drained(installed.accountId);
    expect(inList(store, scenario.lists.negotiation, cara.email)).toBe(false);
    expect((await db().deal.findUniqueOrThrow({ where: { accountId_leadId: { accountId: installed.accountId, leadId: cara.leadId } } })).deletedAt).not.toBeNull();

    // Dan's deal is deleted and the webhook is lost: the events feed brings it.
    deleteLead(kommo.store, installed.kommoAccountId, dan.leadId);
    const found = await reconcileNow(scenario);
    expect(found?.recorded).toBe(1);
    await drained(installed.accountId);
    expect(inList(store, scenario.lists.negotiation, dan.email)).toBe(false);
    // Neither contact has another live deal, so both leave the all-deals list too (README, Lists
    // and deleted deals); the profile stays, and a deletion sends no event.
    for (const deal of [cara, dan]) expect(inList(store, scenario.lists.all, deal.email)).toBe(false);
    expect(store.profileByEmail(dan.email)).toBeDefined();
    expect(store.eventsNamed("Stage Changed", dan.email)).toEqual([]);
  });

  it("a deleted contact is erased from Klaviyo only when the account asked for it, and never a profile another contact uses", async () => {
    const off = await setUp("pk_deletion_contact_off_0123456789");
    const eve = seedDeal(off, "eve");
    await deliver(off, leadBody(off, eve.leadId, "add"));
    await drained(off.installed.accountId);
    deleteContact(kommo.store, off.installed.kommoAccountId, eve.contactId);
    await reconcileNow(off);
    expect(deletionRequests(off.store)).toEqual([]);
    expect(off.store.profileByEmail(eve.email)).toBeDefined();

    const on = await setUp("pk_deletion_contact_on_0123456789", { deleteProfileOnContactDelete: true });
    const fay = seedDeal(on, "fay");
    const gus = seedDeal(on, "gus");
    // A second contact with Gus's email: both use one Klaviyo profile.
    const twin = kommo.seedContact(on.installed.kommoAccountId, { firstName: "Gus", lastName: "Twin", emails: [gus.email] });
    const twinLead = kommo.seedLead(on.installed.kommoAccountId, { name: "Gus twin deal", pipelineId: on.pipelineId, statusId: on.incoming, contactIds: [twin.id] });
    for (const leadId of [fay.leadId, gus.leadId, twinLead.id]) await deliver(on, leadBody(on, leadId, "add"));
    await drained(on.installed.accountId);
    const fayProfile = on.store.profileByEmail(fay.email)!.id;
    await db().emailActivity.create({
      data: { accountId: on.installed.accountId, klaviyoEventId: "evt-fay-1", klaviyoProfileId: fayProfile, metricName: "Opened Email", occurredAt: new Date() },
    });

    deleteContact(kommo.store, on.installed.kommoAccountId, fay.contactId);
    deleteContact(kommo.store, on.installed.kommoAccountId, gus.contactId);
    const result = await reconcileNow(on);
    expect(result).toMatchObject({ contactsDeleted: 1 });
    expect(deletionRequests(on.store).map((request) => request.id)).toEqual([fayProfile]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(on.store.profileByEmail(fay.email)).toBeUndefined();
    expect(on.store.profileByEmail(gus.email)).toBeDefined();
    // What we kept about Fay is gone too; a second run requests nothing again.
    expect(await db().klaviyoProfileLink.count({ where: { accountId: on.installed.accountId, contactId: fay.contactId } })).toBe(0);
    expect(await db().emailActivity.count({ where: { accountId: on.installed.accountId, klaviyoProfileId: fayProfile } })).toBe(0);
    await reconcileNow(on);
    expect(deletionRequests(on.store)).toHaveLength(1);
    expect(klaviyo.invalidRequests()).toEqual([]);
  });
});
