// The product end to end against both simulators: install, Klaviyo key and stage -> list mapping
// through the widget settings API, Kommo webhooks for deals that are created, moved, won and lost,
// the real queue and worker, and Klaviyo's state at the end. Then the same with Klaviyo failing a
// third of the calls and a worker killed mid-job: the same final state, nothing twice, nothing missing.
import { spawn, type ChildProcess } from "node:child_process";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PUT as putSettings } from "@/app/api/widget/settings/route";
import { db, numberIds } from "@/lib/db/client";
import { dealState } from "@/lib/db/deals";
import { readSyncLogPage } from "@/lib/db/sync-log";
import { dealActivity } from "@/lib/features/widget-api/activity";
import { ALL_JOBS } from "@/lib/worker";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { startSimulators, stopSimulators } from "./account-fixtures";
import { deliverCrmWebhook, installAccount, sql, type InstalledAccount } from "./kommo-fixtures";
import { cleanEnvironment, projectRoot } from "../helpers/processes";
import { widgetToken } from "../helpers/widget-token";
import { ALL_SCOPES, type KlaviyoSimulator } from "../simulators/klaviyo";
import type { SimAccount as KlaviyoAccount } from "../simulators/klaviyo";
import { LOST, WON, type KommoSimulator } from "../simulators/kommo";
import { backfillJob } from "@/lib/features/backfill/backfill-job";

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
let inProcessWorker: RunningWorker | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators());
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await inProcessWorker?.stop({ timeoutMs: 1000 });
  await stopSimulators({ kommo, klaviyo });
});

type Scenario = {
  installed: InstalledAccount;
  store: KlaviyoAccount;
  pipelineId: number;
  negotiationId: number;
  incomingId: number;
  lists: { negotiation: string; won: string; lost: string; all: string };
};

/** An installed account whose admin has set a Klaviyo key and mapped stages to lists in the widget. */
async function setUpAccount(klaviyoKey: string, options: { kommoAccountId?: number } = {}): Promise<Scenario> {
  const installed = await installAccount(kommo, options);
  const store = klaviyo.createAccount(`Store of ${installed.subdomain}`);
  klaviyo.addKey(klaviyoKey, { scopes: ALL_SCOPES, account: store });
  const lists = {
    negotiation: store.createList("Negotiating").id,
    won: store.createList("Customers").id,
    lost: store.createList("Win-back").id,
    all: store.createList("All CRM deals").id,
  };
  const pipeline = kommo.seedPipeline(installed.kommoAccountId, { name: "Sales", stages: ["Qualified", "Negotiation"], isMain: true });
  const incomingId = pipeline.statuses.find((status) => status.type === 1)!.id;
  const negotiationId = pipeline.statuses.find((status) => status.name === "Negotiation")!.id;

  const admin = kommo.account(installed.kommoAccountId).users[0]!;
  const token = await widgetToken({ accountId: installed.kommoAccountId, userId: admin.id, subdomain: installed.subdomain });
  const response = await putSettings(
    new Request("http://127.0.0.1/api/widget/settings", {
      method: "PUT",
      headers: { "Content-Type": "application/json", "X-Auth-Token": token, Origin: `https://${installed.subdomain}.kommo.com` },
      body: JSON.stringify({
        klaviyoApiKey: klaviyoKey,
        stageLists: [
          { pipelineId: pipeline.id, statusId: negotiationId, listId: lists.negotiation },
          { pipelineId: pipeline.id, statusId: WON, listId: lists.won },
          { pipelineId: pipeline.id, statusId: LOST, listId: lists.lost },
        ],
        allDealsListId: lists.all,
        removeFromPreviousList: true,
      }),
    }),
    { params: Promise.resolve({}) },
  );
  expect(response.status).toBe(200);
  const saved = await response.json();
  expect(saved.klaviyo).toEqual({ connected: true, keyHint: `pk_…${klaviyoKey.slice(-4)}`, accountName: store.organizationName, activityMode: "polling", activityPollSeconds: 60 });
  expect(JSON.stringify(saved)).not.toContain(klaviyoKey);
  expect(response.headers.get("access-control-allow-origin")).toBe(`https://${installed.subdomain}.kommo.com`);
  await finishInitialBackfill(installed.accountId);
  return { installed, store, pipelineId: pipeline.id, negotiationId, incomingId, lists };
}

/**
 * Saving the key started the import of the account's existing deals (none yet). It finishes before
 * the deals of the test are made, as it would on a new account, so that only webhooks bring them.
 */
async function finishInitialBackfill(accountId: string) {
  const backfillWorker = await startWorker({
    databaseUrl: process.env.DATABASE_URL!,
    jobs: [backfillJob],
    log: pino({ level: "silent" }),
    concurrency: 1,
      });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const run = await db().backfillRun.findFirst({ where: { accountId }, select: { status: true } });
      expect(run).not.toBeNull();
      if (run!.status === "completed") return;
      if (Date.now() > deadline) throw new Error(`the initial backfill did not complete: ${run!.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await backfillWorker.stop({ timeoutMs: 2000 });
  }
}

async function deliver(scenario: Scenario, leadId: number, action: "add" | "status", oldStatusId?: number) {
  const body = kommo.leadWebhookBody(scenario.installed.kommoAccountId, leadId, action, oldStatusId === undefined ? {} : { oldStatusId });
  await deliverCrmWebhook(scenario.installed.hookKey, body);
}

/** Kommo moves the lead (one second later than its last change) and sends the status webhook. */
async function move(scenario: Scenario, leadId: number, statusId: number, extra: { loss_reason_id?: number } = {}) {
  const before = kommo.account(scenario.installed.kommoAccountId).leads.get(leadId)!.status_id;
  kommo.advanceTime(1000);
  kommo.updateLead(scenario.installed.kommoAccountId, leadId, { status_id: statusId, ...extra });
  await deliver(scenario, leadId, "status", before);
}

/** Every change recorded for the account has been applied and no sync job is left. */
async function drained(accountId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [pending] = await sql<{ events: string; jobs: string }>(
      `SELECT (SELECT count(*) FROM "InboundEvent" WHERE "accountId" = $1 AND "processedAt" IS NULL) AS events,
              (SELECT count(*) FROM pgboss.job WHERE name = 'sync-lead' AND data->>'accountId' = $1::text AND state IN ('created', 'retry', 'active')) AS jobs`,
      [accountId],
    );
    if (Number(pending!.events) === 0 && Number(pending!.jobs) === 0) return;
    if (Date.now() > deadline) throw new Error(`not drained after ${timeoutMs} ms: ${JSON.stringify(pending)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

type Deals = { ada: number; bob: number; lossReason: string };

function seedDeals(scenario: Scenario): Deals {
  const accountId = scenario.installed.kommoAccountId;
  const company = kommo.seedCompany(accountId, { name: "Acme Robotics" });
  const ada = kommo.seedContact(accountId, { firstName: "Ada", lastName: "Lovelace", emails: ["ada@example.com"], phones: ["(212) 555-0142"], companyId: company.id });
  const bob = kommo.seedContact(accountId, { firstName: "Bob", lastName: "Stone", emails: ["bob@example.com"], phones: ["not a phone"] });
  const reason = kommo.seedLossReason(accountId, "Chose a competitor");
  const adaLead = kommo.seedLead(accountId, { name: "Ada - robots", price: 12500, pipelineId: scenario.pipelineId, statusId: scenario.incomingId, contactIds: [ada.id], companyId: company.id });
  const bobLead = kommo.seedLead(accountId, { name: "Bob - one robot", price: 900, pipelineId: scenario.pipelineId, statusId: scenario.incomingId, contactIds: [bob.id] });
  return { ada: adaLead.id, bob: bobLead.id, lossReason: reason.name };
}

function lossReasonId(scenario: Scenario, name: string): number {
  return [...kommo.account(scenario.installed.kommoAccountId).lossReasons.values()].find((reason) => reason.name === name)!.id;
}

/** What the marketer must find in Klaviyo after both deals ran their course. */
function expectFinalKlaviyoState(scenario: Scenario, deals: Deals) {
  const { store, lists, installed } = scenario;
  expect(klaviyo.invalidRequests()).toEqual([]);

  const ada = store.profileByEmail("ada@example.com")!;
  const bob = store.profileByEmail("bob@example.com")!;
  expect(store.profiles.size).toBe(2);
  expect(ada).toMatchObject({
    email: "ada@example.com",
    first_name: "Ada",
    last_name: "Lovelace",
    organization: "Acme Robotics",
    phone_number: "+12125550142",
    external_id: null,
  });
  expect(ada.properties).toEqual({
    crm_stage: "Won",
    deal_amount: 12500,
    kommo_deal_id: deals.ada,
    kommo_pipeline: "Sales",
    kommo_deal_name: "Ada - robots",
    kommo_responsible: "Admin",
    kommo_deal_url: `https://${installed.subdomain}.kommo.com/leads/detail/${deals.ada}`,
  });
  expect(bob.phone_number).toBeNull();
  expect(bob.properties).toMatchObject({ crm_stage: "Lost", deal_amount: 900, kommo_deal_id: deals.bob });

  const members = (listId: string) => store.membersOf(listId).map((profile) => profile.email).sort();
  expect(members(lists.won)).toEqual(["ada@example.com"]);
  expect(members(lists.lost)).toEqual(["bob@example.com"]);
  expect(members(lists.negotiation)).toEqual([]);
  expect(members(lists.all)).toEqual(["ada@example.com", "bob@example.com"]);

  const events = (metric: string, email: string) => store.eventsNamed(metric, email).sort((a, b) => a.timestamp - b.timestamp);
  expect(events("Deal Created", "ada@example.com")).toHaveLength(1);
  expect(events("Deal Created", "bob@example.com")).toHaveLength(1);
  expect(events("Stage Changed", "ada@example.com").map((event) => [event.properties.previous_stage, event.properties.deal_stage])).toEqual([
    ["Incoming leads", "Negotiation"],
    ["Negotiation", "Won"],
  ]);
  expect(events("Stage Changed", "bob@example.com").map((event) => [event.properties.previous_stage, event.properties.deal_stage])).toEqual([
    ["Incoming leads", "Lost"],
  ]);
  const [won] = events("Deal Won", "ada@example.com");
  expect(events("Deal Won", "ada@example.com")).toHaveLength(1);
  expect(won).toMatchObject({ value: 12500, valueCurrency: "USD", backfill: false });
  expect(won!.properties).toMatchObject({ deal_name: "Ada - robots", deal_stage: "Won", deal_amount: 12500, kommo_deal_id: deals.ada, pipeline: "Sales", responsible: "Admin" });
  const [lost] = events("Deal Lost", "bob@example.com");
  expect(events("Deal Lost", "bob@example.com")).toHaveLength(1);
  expect(lost!.properties).toMatchObject({ loss_reason: deals.lossReason, deal_stage: "Lost" });
  expect(events("Deal Won", "bob@example.com")).toEqual([]);
  expect(events("Deal Lost", "ada@example.com")).toEqual([]);
}

describe("Kommo deals to Klaviyo, end to end", () => {
  it("syncs a won deal and a lost deal: one profile each, the right lists, each event once", async () => {
    inProcessWorker = await startWorker({ databaseUrl: process.env.DATABASE_URL!, jobs: ALL_JOBS, log: pino({ level: "silent" }), concurrency: 2 });
    const scenario = await setUpAccount("pk_e2e_calm_0123456789abcd");
    const deals = seedDeals(scenario);

    await deliver(scenario, deals.ada, "add");
    await deliver(scenario, deals.bob, "add");
    await drained(scenario.installed.accountId, 30_000);
    await move(scenario, deals.ada, scenario.negotiationId);
    await drained(scenario.installed.accountId, 30_000);
    await move(scenario, deals.ada, WON);
    await move(scenario, deals.bob, LOST, { loss_reason_id: lossReasonId(scenario, deals.lossReason) });
    await drained(scenario.installed.accountId, 30_000);

    expectFinalKlaviyoState(scenario, deals);
    const logs = (await db().syncLog.findMany({ where: { accountId: scenario.installed.accountId } })).map(numberIds);
    expect(logs.length).toBeGreaterThanOrEqual(4);
    expect(logs.every((log) => log.status === "ok")).toBe(true);
    const deal = numberIds(await db().deal.findUniqueOrThrow({ where: { accountId_leadId: { accountId: scenario.installed.accountId, leadId: deals.ada } } }));
    expect(deal).toMatchObject({ statusId: WON, stageName: "Won", email: "ada@example.com", lastSyncStatus: "ok", lastError: null, syncLeaseOwner: null });
    expect(deal.listIds.sort()).toEqual([scenario.lists.all, scenario.lists.won].sort());
    const bobLog = logs.find((log) => log.leadId === deals.bob && log.error);
    expect(bobLog?.error).toMatch(/phone "not a phone" is not a valid number/);

    await inProcessWorker.stop({ timeoutMs: 2000 });
    inProcessWorker = undefined;
  });

  it("reaches the same state when Klaviyo fails a third of the calls and a worker is killed mid-job", async () => {
    const scenario = await setUpAccount("pk_e2e_storm_0123456789abcd");
    const deals = seedDeals(scenario);
    const workerEnvironment = cleanEnvironment({
      DATABASE_URL: process.env.DATABASE_URL,
      APP_MODE: "local",
      APP_URL: process.env.APP_URL,
      ENCRYPTION_KEY: process.env.ENCRYPTION_KEY,
      AUTH_SECRET: process.env.AUTH_SECRET,
      KOMMO_CLIENT_ID: process.env.KOMMO_CLIENT_ID,
      KOMMO_CLIENT_SECRET: process.env.KOMMO_CLIENT_SECRET,
      KOMMO_API_BASE_URL: kommo.url,
      KLAVIYO_API_BASE_URL: klaviyo.url,
      SYNC_JOB_TIMEOUT_SECONDS: "8",
      QUEUE_MAINTENANCE_SECONDS: "1",
      WORKER_CONCURRENCY: "2",
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
    });
    const startChildWorker = () => {
      // One process (node with tsx's loader, not the tsx CLI, which forks): SIGKILL must leave no child behind.
      const child = spawn(process.execPath, ["--import", "tsx", "lib/worker-main.ts"], {
        cwd: projectRoot,
        env: workerEnvironment,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout!.on("data", (chunk) => (output += chunk));
      child.stderr!.on("data", (chunk) => (output += chunk));
      children.push(child);
      return { child, output: () => output };
    };
    const first = startChildWorker();
    const second = startChildWorker();
    const deadline = Date.now() + 30_000;
    while (!(first.output().includes("worker started") && second.output().includes("worker started"))) {
      if (Date.now() > deadline) throw new Error(`workers did not start:\n${first.output()}\n${second.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // A third of the calls fail: 429s (with Retry-After), 500s, and 500s after Klaviyo already applied the call.
    klaviyo.faults.failFraction(1 / 9, { kind: "status", status: 429, retryAfterSeconds: 1 }, { seed: 11 });
    klaviyo.faults.failFraction(1 / 8, { kind: "status", status: 500 }, { seed: 12 });
    klaviyo.faults.failFraction(1 / 7, { kind: "status", status: 500 }, { seed: 13, afterApply: true });
    // The first event call hangs long enough for us to kill the worker that sent it.
    klaviyo.faults.failNext(1, { kind: "slow", delayMs: 5000 }, { operation: "create_event" });
    const requestsBefore = klaviyo.requests.length;

    // Everything at once, as a busy sales team produces it: bursts for one lead coalesce.
    await deliver(scenario, deals.ada, "add");
    await deliver(scenario, deals.bob, "add");
    await move(scenario, deals.ada, scenario.negotiationId);
    await move(scenario, deals.ada, WON);
    await move(scenario, deals.bob, LOST, { loss_reason_id: lossReasonId(scenario, deals.lossReason) });

    // While a worker waits on the slow call, kill every worker (SIGKILL: no goodbye), then start a fresh one.
    const slowDeadline = Date.now() + 60_000;
    while (!klaviyo.requests.slice(requestsBefore).some((request) => request.fault === "slow")) {
      if (Date.now() > slowDeadline) throw new Error(`no event call was made:\n${first.output()}\n${second.output()}\n${JSON.stringify(klaviyo.requests.slice(requestsBefore).map((r) => [r.operation, r.status, r.fault]))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The job whose handler made the call is unfinished: active, or already marked for retry when the
    // in-place retries before the call outlasted the job's expiry (its handler still runs either way).
    const [active] = await sql<{ id: string }>(
      `SELECT id FROM pgboss.job WHERE name = 'sync-lead' AND data->>'accountId' = $1::text AND state IN ('active', 'retry')`,
      [scenario.installed.accountId],
    );
    expect(active).toBeDefined();
    first.child.kill("SIGKILL");
    second.child.kill("SIGKILL");
    const survivor = startChildWorker();

    await drained(scenario.installed.accountId, 150_000);
    klaviyo.faults.clear();
    // Gone before the next test file runs on this database.
    const stopped = new Promise((resolve) => survivor.child.once("exit", resolve));
    survivor.child.kill("SIGTERM");
    await stopped;

    const failures = klaviyo.requests.slice(requestsBefore).filter((request) => request.status >= 429);
    expect(failures.length).toBeGreaterThan(0);
    expectFinalKlaviyoState(scenario, deals);
    // The job that was running when its worker died was handed to the new worker and finished.
    const [killed] = await sql<{ state: string; retry_count: number }>(`SELECT state, retry_count FROM pgboss.job WHERE id = $1`, [active!.id]);
    expect(killed).toMatchObject({ state: "completed" });
    expect(killed!.retry_count).toBeGreaterThanOrEqual(1);
    const logs = await db().syncLog.findMany({ where: { accountId: scenario.installed.accountId }, select: { status: true } });
    expect(logs.some((log) => log.status === "failed")).toBe(false);
  }, 240_000);

  it("syncs a deal whose Kommo ids are past 2^31 (lead 3000000000, its account, contact, pipeline and stages) like any other", async () => {
    inProcessWorker = await startWorker({ databaseUrl: process.env.DATABASE_URL!, jobs: ALL_JOBS, log: pino({ level: "silent" }), concurrency: 2 });
    // Every id the simulator gives out from here on (users, pipeline, stages, contact) is past 2^31.
    kommo.continueIdsFrom(3_000_000_101);
    const scenario = await setUpAccount("pk_e2e_big_ids_0123456789ab", { kommoAccountId: 3_000_000_050 });
    const kommoAccountId = scenario.installed.kommoAccountId;
    expect(Math.min(kommoAccountId, scenario.pipelineId, scenario.incomingId, scenario.negotiationId)).toBeGreaterThan(2 ** 31);
    const contact = kommo.seedContact(kommoAccountId, { firstName: "Max", lastName: "Int", emails: ["max@example.com"] });
    const leadId = kommo.seedLead(kommoAccountId, { id: 3_000_000_000, name: "Max - big ids", price: 4200, pipelineId: scenario.pipelineId, statusId: scenario.incomingId, contactIds: [contact.id] }).id;
    expect(leadId).toBe(3_000_000_000);

    await deliver(scenario, leadId, "add");
    await drained(scenario.installed.accountId, 30_000);
    await move(scenario, leadId, scenario.negotiationId);
    await move(scenario, leadId, WON);
    await drained(scenario.installed.accountId, 30_000);
    // A change of the contact reaches the deal through its main contact (a bigint lookup too).
    await deliverCrmWebhook(scenario.installed.hookKey, kommo.contactWebhookBody(kommoAccountId, contact.id));
    await drained(scenario.installed.accountId, 30_000);

    const { store, lists } = scenario;
    expect(klaviyo.invalidRequests()).toEqual([]);
    expect(store.profileByEmail("max@example.com")!.properties).toMatchObject({ crm_stage: "Won", kommo_deal_id: leadId, deal_amount: 4200 });
    expect(store.membersOf(lists.won).map((profile) => profile.email)).toEqual(["max@example.com"]);
    expect(store.membersOf(lists.negotiation)).toEqual([]);
    expect(store.eventsNamed("Deal Created", "max@example.com")).toHaveLength(1);
    expect(store.eventsNamed("Deal Won", "max@example.com").map((event) => event.properties.kommo_deal_id)).toEqual([leadId]);

    // What we keep reads back as the same numbers: the deal's state, its changes, its log.
    expect(await dealState(scenario.installed.accountId, leadId)).toMatchObject({
      leadId,
      pipelineId: scenario.pipelineId,
      statusId: WON,
      mainContactId: contact.id,
      lastSyncStatus: "ok",
    });
    const events = (await db().inboundEvent.findMany({ where: { accountId: scenario.installed.accountId } })).map(numberIds);
    expect(events.map((event) => [event.kind, event.leadId, event.processedAt !== null])).toEqual(
      expect.arrayContaining([["add_lead", leadId, true], ["status_lead", leadId, true], ["update_contact", leadId, true]]),
    );
    expect(events.find((event) => event.kind === "update_contact")!.contactId).toBe(contact.id);
    const page = await readSyncLogPage(scenario.installed.accountId, { leadId }, null, 10);
    expect(page.length).toBeGreaterThanOrEqual(3);
    expect(page.every((row) => row.leadId === leadId && row.status === "ok")).toBe(true);
    // The deal-card pane's answer is JSON all the way down (a bigint would not serialize).
    const account = numberIds(await db().account.findUniqueOrThrow({ where: { id: scenario.installed.accountId } }));
    expect(JSON.parse(JSON.stringify(await dealActivity(account, leadId)))).toMatchObject({ leadId, sync: { status: "ok", pending: false } });

    await inProcessWorker.stop({ timeoutMs: 2000 });
    inProcessWorker = undefined;
  });
});
