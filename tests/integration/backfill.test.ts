// The historical import against both simulators, each enforcing its platform's rate limits
// (Kommo 7 requests/s per account, Klaviyo's per-endpoint burst and steady windows): every deal's
// profile, list memberships and backfill events end up in Klaviyo, no flow-triggering event is
// sent for an old deal, and live syncs continue from the imported state. Then the widget API and
// its scope, and a worker killed mid-way whose run resumes from its cursor.
//
// BACKFILL_TEST_DEALS sets the size of the large run (default 10,000).
import { spawn, type ChildProcess } from "node:child_process";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as getBackfill, POST as postBackfill } from "@/app/api/widget/backfill/route";
import { db, numberIds } from "@/lib/db/client";
import { dealState } from "@/lib/db/deals";
import { resetEnvForTests } from "@/lib/platform/env";
import { resumeBackfills } from "@/lib/features/schedule/account-tick";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { callWidget, connectKlaviyo, startSimulators, stopSimulators } from "./account-fixtures";
import { deliverCrmWebhook, installAccount, sql, type InstalledAccount } from "./kommo-fixtures";
import { cleanEnvironment, projectRoot } from "../helpers/processes";
import type { KlaviyoSimulator, SimAccount } from "../simulators/klaviyo";
import { LOST, WON, type KommoSimulator } from "../simulators/kommo";
import { backfillJob } from "@/lib/features/backfill/backfill-job";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";

const LARGE_RUN = Number(process.env.BACKFILL_TEST_DEALS ?? 10_000);

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
let worker: RunningWorker | undefined;
const children: ChildProcess[] = [];
const accounts: string[] = [];

type Handler = Parameters<typeof callWidget>[2];

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators());
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await worker?.stop({ timeoutMs: 2000 });
  // Leave nothing due for later test files' workers: these accounts' simulators are about to go.
  if (accounts.length > 0) await sql(`UPDATE "Account" SET paused = true WHERE id = ANY($1::uuid[])`, [accounts]);
  await stopSimulators({ kommo, klaviyo });
});

const startInProcessWorker = async () =>
  (worker ??= await startWorker({
    databaseUrl: process.env.DATABASE_URL!,
    jobs: [backfillJob, syncLeadJob],
    log: pino({ level: "silent" }),
    concurrency: 2,
      }));

type Seeded = {
  leadId: number;
  contactId: number;
  email: string | null;
  pipelineId: number;
  statusId: number;
  updatedAt: number;
  companyName: string | null;
};

type Scenario = {
  installed: InstalledAccount;
  store: SimAccount;
  pipelineId: number;
  stages: { incoming: number; qualified: number; negotiation: number };
  lists: { qualified: string; negotiation: string; won: string; lost: string; all: string };
  deals: Seeded[];
};

/**
 * An account with `count` existing deals (spread over five stages, one in ten with a company,
 * every 50th sharing its contact with the deal before it, every 97th with a contact without email)
 * whose admin then connects Klaviyo: that queues the import the install asked for.
 */
async function scenario(
  key: string,
  count: number,
  options: { mapLists?: boolean; kommoAccountId?: number; leadIdAt?: { index: number; id: number } } = {},
): Promise<Scenario> {
  const installed = await installAccount(kommo, { kommoAccountId: options.kommoAccountId });
  accounts.push(installed.accountId);
  const store = klaviyo.createAccount(`Store ${installed.subdomain}`);
  klaviyo.addKey(key, { account: store });
  const accountId = installed.kommoAccountId;
  const pipeline = kommo.seedPipeline(accountId, { name: "Sales", stages: ["Qualified", "Negotiation"], isMain: true });
  const stage = (name: string) => pipeline.statuses.find((status) => status.name === name)!.id;
  const stages = { incoming: pipeline.statuses.find((status) => status.type === 1)!.id, qualified: stage("Qualified"), negotiation: stage("Negotiation") };
  const lists = {
    qualified: store.createList("Qualified").id,
    negotiation: store.createList("Negotiating").id,
    won: store.createList("Customers").id,
    lost: store.createList("Win-back").id,
    all: store.createList("All CRM deals").id,
  };
  const cycle = [stages.incoming, stages.qualified, stages.negotiation, WON, LOST];
  const start = Math.floor(Date.now() / 1000) - 400 * 86_400;
  const deals: Seeded[] = [];
  let company: { id: number; name: string } | null = null;
  for (let index = 0; index < count; index++) {
    const shared = index % 50 === 1 ? deals[index - 1]! : null;
    const email = shared ? shared.email : index % 97 === 0 ? null : `customer${index}@example.com`;
    if (index % 10 === 0) company = kommo.seedCompany(accountId, { name: `Company ${index}` });
    const contactId = shared
      ? shared.contactId
      : kommo.seedContact(accountId, { firstName: `First${index}`, lastName: `Last${index}`, emails: email ? [email] : [], phones: index % 3 === 0 ? [`+1415${2_000_000 + index}`] : [] }).id;
    const statusId = cycle[index % cycle.length]!;
    const updatedAt = start + index * 60;
    const withCompany = index % 10 === 0 ? company : null;
    const id = options.leadIdAt?.index === index ? options.leadIdAt.id : undefined;
    const lead = kommo.seedLead(accountId, { name: `Deal ${index}`, price: 100 + index, pipelineId: pipeline.id, statusId, contactIds: [contactId], companyId: withCompany?.id, updatedAt, id });
    deals.push({ leadId: lead.id, contactId, email, pipelineId: pipeline.id, statusId, updatedAt, companyName: withCompany?.name ?? null });
  }
  // The admin saves the key and the mappings: the import the install queued starts now.
  await connectKlaviyo(kommo, installed, key, {
    ...(options.mapLists !== false && {
      stageLists: [
        { pipelineId: pipeline.id, statusId: stages.qualified, listId: lists.qualified },
        { pipelineId: pipeline.id, statusId: stages.negotiation, listId: lists.negotiation },
        { pipelineId: pipeline.id, statusId: WON, listId: lists.won },
        { pipelineId: pipeline.id, statusId: LOST, listId: lists.lost },
      ],
      allDealsListId: lists.all,
    }),
  });
  return { installed, store, pipelineId: pipeline.id, stages, lists, deals };
}

async function waitForRun(scenario: Scenario, timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await callWidget(kommo, scenario.installed, getBackfill as Handler, "GET");
    if (answer.body.status === "completed" || answer.body.status === "failed") return answer.body;
    if (Date.now() > deadline) throw new Error(`backfill not finished after ${timeoutMs} ms: ${JSON.stringify(answer.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What Klaviyo must hold after the import, from the seeded deals alone. */
function expectImported(scenario: Scenario) {
  const { store, lists, stages } = scenario;
  const withEmail = scenario.deals.filter((deal) => deal.email !== null);
  const emails = new Set(withEmail.map((deal) => deal.email!));
  expect(store.profiles.size).toBe(emails.size);

  // Lists: each deal's stage list and the all-deals list.
  const listOf: Record<number, string> = { [stages.qualified]: lists.qualified, [stages.negotiation]: lists.negotiation, [WON]: lists.won, [LOST]: lists.lost };
  const expected = new Map<string, Set<string>>(Object.values(lists).map((id) => [id, new Set<string>()]));
  for (const deal of withEmail) {
    expected.get(lists.all)!.add(deal.email!);
    if (listOf[deal.statusId]) expected.get(listOf[deal.statusId]!)!.add(deal.email!);
  }
  for (const [listId, members] of expected) {
    expect(new Set(store.membersOf(listId).map((profile) => profile.email)), `members of ${listId}`).toEqual(members);
  }

  // Events: one Deal Created per deal, Won / Lost at the closing time, all of them backfill.
  const created = store.eventsNamed("Deal Created");
  const won = store.eventsNamed("Deal Won");
  const lost = store.eventsNamed("Deal Lost");
  expect(created).toHaveLength(withEmail.length);
  expect(won).toHaveLength(withEmail.filter((deal) => deal.statusId === WON).length);
  expect(lost).toHaveLength(withEmail.filter((deal) => deal.statusId === LOST).length);
  expect(store.eventsNamed("Stage Changed")).toEqual([]);
  expect(store.events.filter((event) => !event.backfill)).toEqual([]);
  const createdOf = new Map(created.map((event) => [event.properties.kommo_deal_id, event]));
  for (const deal of withEmail) expect(createdOf.get(deal.leadId)?.timestamp, `Deal Created of ${deal.leadId}`).toBe(deal.updatedAt);
  const firstWon = withEmail.find((deal) => deal.statusId === WON)!;
  expect(won.find((event) => event.properties.kommo_deal_id === firstWon.leadId)).toMatchObject({ timestamp: firstWon.updatedAt, value: expect.any(Number), valueCurrency: "USD" });

  // Profiles: of a contact's two deals, the later one describes it.
  const last = new Map(withEmail.map((deal) => [deal.email!, deal]));
  for (const sample of [withEmail[0]!, withEmail[1]!, withEmail[2]!, withEmail[withEmail.length - 1]!]) {
    const deal = last.get(sample.email!)!;
    const profile = store.profileByEmail(deal.email!)!;
    expect(profile.properties).toMatchObject({ kommo_deal_id: deal.leadId, kommo_pipeline: "Sales", deal_amount: expect.any(Number) });
    expect(profile.organization).toBe(deal.companyName);
  }
  expect(klaviyo.invalidRequests()).toEqual([]);
}

describe("historical backfill", () => {
  it(`imports ${LARGE_RUN} deals with their contacts within both platforms' rate limits, and live syncs continue from there`, async () => {
    const scenario_ = await scenario("pk_backfill_large_0123456789", LARGE_RUN);
    const { installed, store } = scenario_;
    kommo.resetCounters();
    const klaviyoBefore = klaviyo.requests.length;

    const queued = await callWidget(kommo, installed, getBackfill as Handler, "GET");
    expect(queued.body).toMatchObject({ status: "queued", done: 0, total: null, errors: 0 });
    const startedAt = Date.now();
    await startInProcessWorker();
    const finished = await waitForRun(scenario_, 120_000);
    const seconds = (Date.now() - startedAt) / 1000;
    console.info(`backfill of ${LARGE_RUN} deals: ${seconds.toFixed(1)} s (${Math.round(LARGE_RUN / seconds)} deals/s)`);

    expect(finished).toEqual({ id: queued.body.id, status: "completed", done: LARGE_RUN, total: LARGE_RUN, errors: 0, lastError: null });
    expectImported(scenario_);

    // Kommo: pages of 250 leads and batches of 250 contacts, never over 7 requests a second.
    const pages = Math.ceil(LARGE_RUN / 250);
    expect(kommo.count("GET /api/v4/leads", { accountId: installed.kommoAccountId, status: 200 })).toBe(pages);
    expect(kommo.count("GET /api/v4/contacts", { accountId: installed.kommoAccountId })).toBeLessThanOrEqual(pages);
    expect(kommo.requests.filter((request) => request.status === 429)).toEqual([]);
    expect(kommo.peakRequests(installed.kommoAccountId)).toBeLessThanOrEqual(7);
    // Klaviyo: bulk endpoints only, none of them throttled.
    const calls = klaviyo.requests.slice(klaviyoBefore);
    expect(calls.filter((request) => request.status === 429)).toEqual([]);
    expect(new Set(calls.map((request) => request.operation))).toEqual(
      new Set(["bulk_import_profiles", "get_bulk_import_profiles_job", "get_profiles", "add_profiles_to_list", "bulk_create_events"]),
    );

    // Deal rows: live syncs compare against them.
    const negotiating = scenario_.deals.find((deal) => deal.statusId === scenario_.stages.negotiation && deal.email && scenario_.deals.filter((other) => other.email === deal.email).length === 1)!;
    const row = numberIds(await db().deal.findUniqueOrThrow({ where: { accountId_leadId: { accountId: installed.accountId, leadId: negotiating.leadId } } }));
    expect(row).toMatchObject({ statusId: scenario_.stages.negotiation, email: negotiating.email, klaviyoProfileId: store.profileByEmail(negotiating.email!)!.id, lastSyncStatus: "ok" });
    expect(row.listIds.sort()).toEqual([scenario_.lists.all, scenario_.lists.negotiation].sort());

    // The deal is won in Kommo: the live sync moves it from the imported state, with a live event.
    kommo.advanceTime(1000);
    kommo.updateLead(installed.kommoAccountId, negotiating.leadId, { status_id: WON });
    await deliverCrmWebhook(
      installed.hookKey,
      kommo.leadWebhookBody(installed.kommoAccountId, negotiating.leadId, "status", { oldStatusId: scenario_.stages.negotiation }),
    );
    const deadline = Date.now() + 20_000;
    while (store.eventsNamed("Stage Changed", negotiating.email!).length === 0) {
      if (Date.now() > deadline) throw new Error("the live sync after the backfill did not run");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(store.eventsNamed("Stage Changed", negotiating.email!).map((event) => [event.properties.previous_stage, event.properties.deal_stage, event.backfill])).toEqual([
      ["Negotiation", "Won", false],
    ]);
    expect(store.eventsNamed("Deal Won", negotiating.email!).map((event) => event.backfill)).toEqual([false]);
    const members = (listId: string) => store.membersOf(listId).some((profile) => profile.email === negotiating.email);
    expect(members(scenario_.lists.won)).toBe(true);
    expect(members(scenario_.lists.negotiation)).toBe(false);
  }, 180_000);

  it("answers the widget: 404 before any run, 422 without Klaviyo, 400 for a bad scope, 409 while one runs; the scope limits the import", async () => {
    // No worker until the run has been seen queued (the first test's would take it at once).
    await worker?.stop({ timeoutMs: 2000 });
    worker = undefined;
    const installed = await installAccount(kommo);
    accounts.push(installed.accountId);
    // The run every install gets waits for Klaviyo; before the key, starting another is refused.
    expect(await db().backfillRun.count({ where: { accountId: installed.accountId, status: "queued" } })).toBe(1);
    await db().backfillRun.deleteMany({ where: { accountId: installed.accountId } });
    expect(await callWidget(kommo, installed, getBackfill as Handler, "GET")).toMatchObject({ status: 404, body: { error: { code: "no_backfill" } } });
    expect(await callWidget(kommo, installed, postBackfill as Handler, "POST", {})).toMatchObject({ status: 422, body: { error: { code: "klaviyo_not_connected" } } });

    const store = klaviyo.createAccount(`Store ${installed.subdomain}`);
    klaviyo.addKey("pk_backfill_scope_0123456789", { account: store });
    await connectKlaviyo(kommo, installed, "pk_backfill_scope_0123456789");
    const accountId = installed.kommoAccountId;
    const sales = kommo.seedPipeline(accountId, { name: "Sales", stages: ["Qualified"], isMain: true });
    const partners = kommo.seedPipeline(accountId, { name: "Partners", stages: ["Intro"] });
    const qualified = sales.statuses.find((status) => status.name === "Qualified")!.id;
    const intro = partners.statuses.find((status) => status.name === "Intro")!.id;
    const seed = (name: string, pipelineId: number, statusId: number, updatedAt?: number) => {
      const contact = kommo.seedContact(accountId, { firstName: name, lastName: "Test", emails: [`${name}@example.com`] });
      return kommo.seedLead(accountId, { name, pipelineId, statusId, contactIds: [contact.id], updatedAt }).id;
    };
    const old = Math.floor(Date.parse("2024-01-10T00:00:00Z") / 1000);
    seed("open-sales", sales.id, qualified);
    seed("won-sales", sales.id, WON);
    seed("old-sales", sales.id, qualified, old);
    seed("open-partners", partners.id, intro);

    for (const scope of [{ pipelineIds: [] }, { onlyOpen: "yes" }, { since: "last week" }, { since: "2999-01-01" }, { other: 1 }]) {
      const answer = await callWidget(kommo, installed, postBackfill as Handler, "POST", { scope });
      expect(answer, JSON.stringify(scope)).toMatchObject({ status: 400, body: { error: { code: "invalid_backfill" } } });
    }
    expect(await callWidget(kommo, installed, postBackfill as Handler, "POST", "{not json")).toMatchObject({ status: 400, body: { error: { code: "invalid_json" } } });
    expect(await db().backfillRun.count({ where: { accountId: installed.accountId } })).toBe(0);

    const started = await callWidget(kommo, installed, postBackfill as Handler, "POST", { scope: { pipelineIds: [sales.id], onlyOpen: true, since: "2025-01-01" } });
    expect(started.status).toBe(202);
    expect(await callWidget(kommo, installed, postBackfill as Handler, "POST", {})).toMatchObject({ status: 409, body: { error: { code: "backfill_running" } } });
    expect((await callWidget(kommo, installed, getBackfill as Handler, "GET")).body).toMatchObject({ id: started.body.id, status: "queued", done: 0, total: null, errors: 0 });

    await startInProcessWorker();
    const run = await waitForRun({ installed } as Scenario, 30_000);
    expect(run).toMatchObject({ status: "completed", done: 1, total: 1, errors: 0 });
    expect([...store.profiles.values()].map((profile) => profile.email)).toEqual(["open-sales@example.com"]);
  }, 60_000);

  it("resumes a run from its cursor after the worker is killed mid-way, without duplicates", async () => {
    const count = 3000;
    // Only the child workers below work on this run.
    await worker?.stop({ timeoutMs: 2000 });
    worker = undefined;
    const scenario_ = await scenario("pk_backfill_killed_0123456789", count);
    const { installed, store } = scenario_;
    const environment = cleanEnvironment({
      DATABASE_URL: process.env.DATABASE_URL,
      APP_MODE: "local",
      APP_URL: process.env.APP_URL,
      ENCRYPTION_KEY: process.env.ENCRYPTION_KEY,
      AUTH_SECRET: process.env.AUTH_SECRET,
      KOMMO_CLIENT_ID: process.env.KOMMO_CLIENT_ID,
      KOMMO_CLIENT_SECRET: process.env.KOMMO_CLIENT_SECRET,
      KOMMO_API_BASE_URL: kommo.url,
      KLAVIYO_API_BASE_URL: klaviyo.url,
      // A run without a heartbeat for 2 × 3 s has lost its worker.
      SYNC_JOB_TIMEOUT_SECONDS: "3",
      QUEUE_MAINTENANCE_SECONDS: "1",
      WORKER_CONCURRENCY: "1",
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
    });
    const startChild = () => {
      // One process (node with tsx's loader; the tsx CLI would fork a second one that a kill misses).
      const child = spawn(process.execPath, ["--import", "tsx", "lib/worker-main.ts"], { cwd: projectRoot, env: environment, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout!.on("data", (chunk) => (output += chunk));
      child.stderr!.on("data", (chunk) => (output += chunk));
      children.push(child);
      return { child, output: () => output };
    };
    kommo.resetCounters();
    const first = startChild();
    const runId = (await callWidget(kommo, installed, getBackfill as Handler, "GET")).body.id as string;
    const progress = async () => (await db().backfillRun.findUniqueOrThrow({ where: { id: runId } })).done;
    const deadline = Date.now() + 60_000;
    while ((await progress()) < 1000) {
      if (Date.now() > deadline) throw new Error(`no progress:\n${first.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Kill it in the middle of a job.
    while ((await sql(`SELECT 1 FROM pgboss.job WHERE name = 'backfill' AND data->>'runId' = $1 AND state = 'active' AND started_on < now() - interval '300 milliseconds'`, [runId])).length === 0) {
      if (Date.now() > deadline) throw new Error(`no active job:\n${first.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.child.kill("SIGKILL");
    const doneAtKill = await progress();
    expect(doneAtKill).toBeLessThan(count);

    // The run's heartbeat stops; the minute tick (its backfill part, run here with the same
    // settings as the workers) hands the run to a new job once it is overdue.
    process.env.SYNC_JOB_TIMEOUT_SECONDS = "3";
    resetEnvForTests();
    expect(await resumeBackfills()).toBe(0);
    const stalledBy = Date.now() + 7_000;
    while (Date.now() < stalledBy) await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await resumeBackfills()).toBe(1);
    const second = startChild();
    const finished = await waitForRun(scenario_, 90_000).catch((error) => {
      throw new Error(`${error}\n--- first worker\n${first.output()}\n--- second worker\n${second.output()}`);
    });
    second.child.kill("SIGTERM");
    delete process.env.SYNC_JOB_TIMEOUT_SECONDS;
    resetEnvForTests();
    expect(finished).toMatchObject({ status: "completed", done: count, total: count, errors: 0 });
    expectImported(scenario_);

    // Resumed, not restarted: the pages before the cursor were not read again (at most the chunk
    // the killed worker had begun, and the one it was reading ahead).
    const pages = Math.ceil(count / 250);
    const leadPages = kommo.count("GET /api/v4/leads", { accountId: installed.kommoAccountId, status: 200 });
    expect(leadPages).toBeGreaterThanOrEqual(pages);
    expect(leadPages).toBeLessThanOrEqual(pages + 8);
    // The killed job never finished; a new one took the run over and completed it.
    const jobs = await sql<{ state: string }>(`SELECT state FROM pgboss.job WHERE name = 'backfill' AND data->>'runId' = $1 ORDER BY created_on`, [runId]);
    expect(jobs.map((job) => job.state)).toContain("active");
    expect(jobs.at(-1)!.state).toBe("completed");
    // Events sent twice (the chunk the dead worker was in) were kept once: unique_id.
    expect(store.events.length).toBe(store.eventsNamed("Deal Created").length + store.eventsNamed("Deal Won").length + store.eventsNamed("Deal Lost").length);
  }, 180_000);

  it("reads the stages again when a deal is in one created after the run read them, so its profile keeps its stage's name", async () => {
    const count = 12;
    const scenario_ = await scenario("pk_backfill_late_stage_0123456789", count);
    const { installed, store } = scenario_;
    const moved = scenario_.deals.find((deal) => deal.email !== null && deal.statusId !== WON && deal.statusId !== LOST)!;
    // Right after the run reads the pipelines, a new pipeline appears and a deal moves into it.
    kommo.afterAnswer("GET /api/v4/leads/pipelines", () => {
      const partners = kommo.seedPipeline(installed.kommoAccountId, { name: "Partners", stages: ["Onboarding"] });
      const onboarding = partners.statuses.find((status) => status.name === "Onboarding")!.id;
      kommo.updateLead(installed.kommoAccountId, moved.leadId, { pipeline_id: partners.id, status_id: onboarding });
    });

    await startInProcessWorker();
    expect(await waitForRun(scenario_, 60_000)).toMatchObject({ status: "completed", done: count, errors: 0 });
    expect(store.profileByEmail(moved.email!)!.properties).toMatchObject({ crm_stage: "Onboarding", kommo_pipeline: "Partners", kommo_deal_id: moved.leadId });
    const pipelineReads = kommo.requests.filter((request) => request.accountId === installed.kommoAccountId && request.route === "GET /api/v4/leads/pipelines" && request.status === 200);
    expect(pipelineReads).toHaveLength(2);
  }, 120_000);

  it("imports a deal whose Kommo ids are past 2^31 (lead 3000000000), and live syncs continue from it", async () => {
    // Every id the simulator gives out from here on (users, pipeline, stages, contacts, leads) is past 2^31.
    kommo.continueIdsFrom(3_000_000_001);
    const count = 30;
    const scenario_ = await scenario("pk_backfill_big_ids_0123456789", count, { kommoAccountId: 3_500_000_000, leadIdAt: { index: 2, id: 3_000_000_000 } });
    const { installed, store, stages, lists } = scenario_;
    const big = scenario_.deals[2]!;
    expect(big).toMatchObject({ leadId: 3_000_000_000, statusId: stages.negotiation, email: "customer2@example.com" });
    expect(Math.min(big.contactId, big.pipelineId, ...scenario_.deals.map((deal) => deal.leadId))).toBeGreaterThan(2 ** 31);

    await startInProcessWorker();
    const finished = await waitForRun(scenario_, 60_000);
    expect(finished).toMatchObject({ status: "completed", done: count, total: count, errors: 0, lastError: null });
    expectImported(scenario_);
    expect(store.profileByEmail(big.email!)!.properties).toMatchObject({ kommo_deal_id: big.leadId });
    expect(await dealState(installed.accountId, big.leadId)).toMatchObject({
      leadId: big.leadId,
      pipelineId: big.pipelineId,
      statusId: stages.negotiation,
      mainContactId: big.contactId,
      email: big.email,
      lastSyncStatus: "ok",
    });

    // The deal is won in Kommo: the live sync starts from the imported state.
    kommo.advanceTime(1000);
    kommo.updateLead(installed.kommoAccountId, big.leadId, { status_id: WON });
    await deliverCrmWebhook(installed.hookKey, kommo.leadWebhookBody(installed.kommoAccountId, big.leadId, "status", { oldStatusId: stages.negotiation }));
    const deadline = Date.now() + 20_000;
    while (store.eventsNamed("Stage Changed", big.email!).length === 0) {
      if (Date.now() > deadline) throw new Error("the live sync after the backfill did not run");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(store.eventsNamed("Stage Changed", big.email!).map((event) => [event.properties.previous_stage, event.properties.deal_stage, event.properties.kommo_deal_id])).toEqual([
      ["Negotiation", "Won", big.leadId],
    ]);
    expect(store.membersOf(lists.won).some((profile) => profile.email === big.email)).toBe(true);
    expect(store.membersOf(lists.negotiation).some((profile) => profile.email === big.email)).toBe(false);
  }, 120_000);
});
