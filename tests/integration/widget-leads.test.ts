// The widget API of the deal card (activity, Sync now) and the token checks every widget route
// shares: handlers called as Next calls them, against the test database, the Kommo simulator (real
// install) and the Klaviyo simulator (list names, and the sync job behind Sync now).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GET as getActivity } from "@/app/api/widget/leads/[leadId]/activity/route";
import { POST as postSync, OPTIONS as syncPreflight } from "@/app/api/widget/leads/[leadId]/sync/route";
import { GET as getLists } from "@/app/api/widget/klaviyo/lists/route";
import { GET as getPipelines } from "@/app/api/widget/kommo/pipelines/route";
import { GET as getSettings, PUT as putSettings } from "@/app/api/widget/settings/route";
import { db, numberIds } from "@/lib/db/client";
import { sealKlaviyoKey } from "@/lib/integrations/klaviyo/account-client";
import { clearListNameCache } from "@/lib/features/widget-api/list-names";
import { forgetCachedRights } from "@/lib/features/widget-api/lead-access";
import { logger } from "@/lib/platform/log";
import { signWidgetToken, type WidgetTokenInput } from "@/tests/browser/harness/widget-token";
import type { KlaviyoSimulator } from "@/tests/simulators/klaviyo";
import { addKommoUser, type KommoSimulator } from "@/tests/simulators/kommo";
import { startSimulators, stopSimulators } from "./account-fixtures";
import { CLIENT_ID, CLIENT_SECRET, installAccount, jobsOf, newKommoAccountId, type InstalledAccount } from "./kommo-fixtures";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";

const KEY = "pk_widget_leads_test_0001";
const AUDIENCE = new URL(process.env.APP_URL!).origin;

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
let account: InstalledAccount;
let adminId: number;

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators({ jobDelayMs: 20 }));
  klaviyo.addKey(KEY);
  // Klaviyo creates its email metrics with their first event; this account has had all five.
  for (const metric of ["Received Email", "Opened Email", "Clicked Email", "Bounced Email", "Unsubscribed"]) {
    klaviyo.account.seedEvent({ metric, email: "someone-else@example.com", datetime: new Date(Date.now() - 86_400_000) });
  }
  account = await installAccount(kommo);
  adminId = kommo.account(account.kommoAccountId).users[0]!.id;
});

beforeEach(async () => {
  clearListNameCache();
  await connectKlaviyo();
});

afterAll(async () => {
  await stopSimulators({ kommo, klaviyo });
});

async function connectKlaviyo(connected = true) {
  await db().account.update({
    where: { id: account.accountId },
    data: { klaviyoApiKeyEnc: connected ? sealKlaviyoKey(account.accountId, KEY) : null, klaviyoKeyHint: connected ? "pk_…0001" : null },
  });
}

const token = (overrides: Partial<WidgetTokenInput> = {}) =>
  signWidgetToken({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    audience: AUDIENCE,
    accountId: account.kommoAccountId,
    subdomain: account.subdomain,
    userId: adminId,
    isAdmin: true,
    ...overrides,
  });

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

async function call(handler: Handler, options: { method?: string; path?: string; leadId?: string; token?: string | null; origin?: string | null; body?: unknown } = {}) {
  const headers = new Headers({ "content-type": "application/json" });
  const auth = options.token === undefined ? await token() : options.token;
  if (auth) headers.set("x-auth-token", auth);
  const origin = options.origin === undefined ? `https://${account.subdomain}.kommo.com` : options.origin;
  if (origin) headers.set("origin", origin);
  const request = new Request(`${AUDIENCE}${options.path ?? "/api/widget/test"}`, {
    method: options.method ?? "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const response = await handler(request, { params: Promise.resolve<Record<string, string>>(options.leadId === undefined ? {} : { leadId: options.leadId }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

const inboundEvents = async () =>
  (await db().inboundEvent.findMany({ where: { accountId: account.accountId, source: "manual" }, orderBy: { receivedAt: "asc" } })).map(numberIds);

describe("every widget route refuses a token it cannot trust", () => {
  const routes: [string, Handler, string, unknown?][] = [
    ["GET /settings", getSettings as Handler, "GET"],
    ["PUT /settings", putSettings as Handler, "PUT", { activityNotes: false }],
    ["GET /klaviyo/lists", getLists as Handler, "GET"],
    ["GET /kommo/pipelines", getPipelines as Handler, "GET"],
    ["GET /leads/{id}/activity", getActivity as Handler, "GET"],
    ["POST /leads/{id}/sync", postSync as Handler, "POST", {}],
  ];

  it.each(routes)("%s", async (_name, handler, method, body) => {
    const send = (overrides: Parameters<typeof call>[1]) => call(handler, { method, body, leadId: "4242", ...overrides });
    const settingsBefore = await db().account.findUniqueOrThrow({ where: { id: account.accountId }, select: { settings: true, updatedAt: true } });

    expect((await send({ token: null })).body).toMatchObject({ error: { code: "missing_token" } });
    // Signed with another secret (a forgery), or by the right secret for another integration or origin.
    const forged = await send({ token: await token({ clientSecret: "not-the-client-secret-00000" }) });
    expect(forged).toMatchObject({ status: 401, body: { error: { code: "invalid_token" } } });
    expect(await send({ token: await token({ expiresInSeconds: -120 }) })).toMatchObject({ status: 401, body: { error: { code: "token_expired" } } });
    expect(await send({ token: await token({ clientId: "11111111-2222-4333-8444-555555555555" }) })).toMatchObject({ status: 401, body: { error: { code: "invalid_token" } } });
    expect(await send({ token: await token({ audience: "https://someone-else.example" }) })).toMatchObject({ status: 401, body: { error: { code: "invalid_token" } } });
    // A genuine token of a Kommo account that never installed us.
    const foreign = await send({ token: await token({ accountId: newKommoAccountId(), subdomain: "stranger" }) });
    expect(foreign).toMatchObject({ status: 403, body: { error: { code: "not_installed" } } });
    // A valid token replayed from another account's Kommo page.
    const otherPage = await send({ origin: "https://stranger.kommo.com" });
    expect(otherPage).toMatchObject({ status: 403, body: { error: { code: "forbidden_origin" } } });
    expect(otherPage.headers.get("access-control-allow-origin")).toBeNull();

    // Nothing was written by any refused call.
    expect(await inboundEvents()).toEqual([]);
    expect(await db().account.findUniqueOrThrow({ where: { id: account.accountId }, select: { settings: true, updatedAt: true } })).toEqual(settingsBefore);
  });
});

describe("GET /api/widget/leads/{leadId}/activity", () => {
  it("answers for a deal we never synced: no profile, no activity, status never, CORS for the account's page", async () => {
    const response = await call(getActivity as Handler, { leadId: "777001" });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(`https://${account.subdomain}.kommo.com`);
    expect(response.body).toEqual({
      leadId: 777001,
      // As Kommo's datetime_settings gave it at install (the simulated account is on UTC).
      timeZone: "UTC",
      klaviyoConnected: true,
      kommoAccess: "ok",
      sync: { status: "never", lastSyncedAt: null, lastAttemptAt: null, pending: false, problem: null, history: [] },
      profile: null,
      activityFreshness: { live: false, readAt: null },
      consent: null,
      activity: [],
    });
  });

  it("shows the synced deal: profile link, crm_stage, list names from Klaviyo, the newest 20 email events first, the last error in words", async () => {
    const leadId = 777002;
    const won = klaviyo.account.createList("Won deals");
    const all = klaviyo.account.createList("All CRM deals");
    await db().account.update({ where: { id: account.accountId }, data: { timezone: "Europe/Madrid" } });
    const syncedAt = new Date("2026-03-02T10:00:00Z");
    await db().deal.create({
      data: {
        accountId: account.accountId,
        leadId,
        stageName: "Won",
        email: "ada@example.com",
        klaviyoProfileId: "01PROFILEADA",
        listIds: [won.id, all.id],
        lastSyncedAt: syncedAt,
        lastSyncStatus: "retrying",
        lastError: "Klaviyo answered 503; retrying",
      },
    });
    await db().syncLog.createMany({
      data: [
        { accountId: account.accountId, leadId, trigger: "status_lead", status: "ok", createdAt: new Date("2026-03-02T10:00:00Z"), finishedAt: syncedAt },
        { accountId: account.accountId, leadId, trigger: "update_lead", status: "retrying", errorCode: "klaviyo_server_error", error: "Klaviyo answered 503; retrying", createdAt: new Date("2026-03-02T11:00:00Z"), finishedAt: new Date("2026-03-02T11:00:01Z") },
      ],
    });
    const metrics = ["Received Email", "Opened Email", "Clicked Email", "Bounced Email", "Unsubscribed", "Marked Email as Spam"];
    await db().emailActivity.createMany({
      data: Array.from({ length: 24 }, (_, index) => ({
        accountId: account.accountId,
        klaviyoEventId: `evt-${leadId}-${index}`,
        klaviyoProfileId: "01PROFILEADA",
        metricName: metrics[index % metrics.length]!,
        occurredAt: new Date(Date.UTC(2026, 2, 1, 0, index)),
        subject: index % 2 === 0 ? `Spring offer #${index}` : null,
        campaignOrFlow: index % 2 === 1 ? "Welcome flow" : null,
      })),
    });
    // Another profile's events are not this deal's.
    await db().emailActivity.create({
      data: { accountId: account.accountId, klaviyoEventId: "evt-other", klaviyoProfileId: "01PROFILEOTHER", metricName: "Opened Email", occurredAt: new Date() },
    });

    const { status, body } = await call(getActivity as Handler, { leadId: String(leadId) });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      timeZone: "Europe/Madrid",
      sync: {
        status: "retrying",
        lastSyncedAt: syncedAt.toISOString(),
        lastAttemptAt: "2026-03-02T11:00:01.000Z",
        problem: { code: "klaviyo_server_error", reason: null, retryable: true, message: "Klaviyo answered 503; retrying" },
        history: [
          { status: "retrying", trigger: "update_lead", errorCode: "klaviyo_server_error" },
          { status: "ok", trigger: "status_lead", errorCode: null },
        ],
      },
      profile: {
        id: "01PROFILEADA",
        email: "ada@example.com",
        url: "https://www.klaviyo.com/profile/01PROFILEADA",
        stage: "Won",
        lists: [
          { id: won.id, name: "Won deals" },
          { id: all.id, name: "All CRM deals" },
        ],
      },
    });
    const activity = body!.activity as { id: string; kind: string; subject: string | null; campaignOrFlow: string | null; occurredAt: string }[];
    expect(activity).toHaveLength(20);
    expect(activity.map((event) => event.id)).toEqual(Array.from({ length: 20 }, (_, index) => `evt-${leadId}-${23 - index}`));
    expect(activity.slice(0, 6).map((event) => event.kind)).toEqual(["spam", "unsubscribed", "bounced", "clicked", "opened", "received"]);
    expect(activity[0]).toMatchObject({ subject: null, campaignOrFlow: "Welcome flow", occurredAt: "2026-03-01T00:23:00.000Z" });
    await db().account.update({ where: { id: account.accountId }, data: { timezone: null } });
  });

  it("reads the profile's newest email events live from Klaviyo when the pane opens, stores them for the notes, one read for five people", async () => {
    const leadId = 777010;
    const created = klaviyo.account.upsert({ attributes: { email: "barbara@example.com" } });
    if (created.kind !== "ok") throw new Error("profile not created");
    const profileId = created.profile.id;
    await db().deal.create({ data: { accountId: account.accountId, leadId, email: "barbara@example.com", klaviyoProfileId: profileId, lastSyncedAt: new Date(), lastSyncStatus: "ok" } });
    klaviyo.account.seedEvent({ metric: "Opened Email", email: "barbara@example.com", properties: { Subject: "Your proposal" } });
    klaviyo.account.seedEvent({ metric: "Placed Order", email: "barbara@example.com" });

    const readsOf = () => klaviyo.requestsFor("get_events").filter((request) => request.query.filter?.includes(profileId)).length;
    const opens = await Promise.all(Array.from({ length: 5 }, () => call(getActivity as Handler, { leadId: String(leadId) })));
    // Five people opening the deal at once: one Klaviyo read, newest first, filtered by the profile.
    expect(readsOf()).toBe(1);
    const read = klaviyo.requestsFor("get_events").find((request) => request.query.filter?.includes(profileId))!;
    expect(read.query).toMatchObject({ sort: "-datetime", filter: `equals(profile_id,"${profileId}")` });
    expect(klaviyo.invalidRequests()).toEqual([]);
    const live = opens.find((open) => (open.body!.activityFreshness as { live: boolean }).live)!;
    expect(live.body!.activity).toEqual([expect.objectContaining({ kind: "opened", subject: "Your proposal" })]);
    expect(Date.parse((live.body!.activityFreshness as { readAt: string }).readAt)).toBeGreaterThan(Date.now() - 10_000);
    // Stored like the poll's, not noted yet: the note writer takes it from here.
    const stored = await db().emailActivity.findMany({ where: { accountId: account.accountId, klaviyoProfileId: profileId } });
    expect(stored.map((row) => [row.metricName, row.notedAt])).toEqual([["Opened Email", null]]);
  });

  it("answers from storage within its usual time when Klaviyo is slow, saying how fresh the data is", async () => {
    const leadId = 777011;
    const created = klaviyo.account.upsert({ attributes: { email: "edsger@example.com" } });
    if (created.kind !== "ok") throw new Error("profile not created");
    await db().deal.create({ data: { accountId: account.accountId, leadId, email: "edsger@example.com", klaviyoProfileId: created.profile.id, lastSyncedAt: new Date(), lastSyncStatus: "ok" } });
    const polledAt = new Date(Date.now() - 30_000);
    await db().account.update({ where: { id: account.accountId }, data: { activityPolledAt: polledAt } });
    klaviyo.setLatency(4000);
    try {
      const started = Date.now();
      const { status, body } = await call(getActivity as Handler, { leadId: String(leadId) });
      expect(status).toBe(200);
      expect(Date.now() - started).toBeLessThan(3500);
      expect(body!.activityFreshness).toEqual({ live: false, readAt: polledAt.toISOString() });
    } finally {
      klaviyo.setLatency(0);
      await db().account.update({ where: { id: account.accountId }, data: { activityPolledAt: null } });
    }
  });

  it("shows list ids when Klaviyo does not answer, and explains a skipped deal by its reason", async () => {
    const leadId = 777003;
    klaviyo.faults.failNext(10, { kind: "status", status: 500 }, { operation: "get_lists" });
    await db().deal.create({
      data: { accountId: account.accountId, leadId, klaviyoProfileId: "01PROFILEB", listIds: ["LsGone"], lastSyncedAt: new Date(), lastSyncStatus: "skipped", lastError: "the contact has no email" },
    });
    await db().syncLog.create({ data: { accountId: account.accountId, leadId, trigger: "update_contact", status: "skipped", errorCode: "no_email", error: "the contact has no email" } });
    const { body } = await call(getActivity as Handler, { leadId: String(leadId) });
    expect(body).toMatchObject({
      sync: { status: "skipped", problem: { code: "no_email", reason: "no_email", retryable: false } },
      profile: { lists: [{ id: "LsGone", name: null }] },
    });
    // A row written before skip reasons had codes says only "skipped": the pane gets "other", never a guess from its sentence.
    await db().syncLog.create({ data: { accountId: account.accountId, leadId, trigger: "update_contact", status: "skipped", errorCode: "skipped", error: "contact has no email" } });
    expect((await call(getActivity as Handler, { leadId: String(leadId) })).body).toMatchObject({ sync: { problem: { code: "skipped", reason: "other" } } });
    klaviyo.faults.clear();
  });

  it.each(["abc", "0", "-5", "1.5", "9007199254740992", "12e3"])("refuses the lead id %j with 400", async (leadId) => {
    const response = await call(getActivity as Handler, { leadId });
    expect(response).toMatchObject({ status: 400, body: { error: { code: "invalid_lead_id" } } });
  });
});

describe("POST /api/widget/leads/{leadId}/sync", () => {
  it("answers the preflight from the account's page with the methods the widget uses", () => {
    const response = syncPreflight(new Request(`${AUDIENCE}/api/widget/leads/1/sync`, { method: "OPTIONS", headers: { origin: `https://${account.subdomain}.kommo.com` } }));
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    expect(response.headers.get("access-control-allow-headers")).toContain("X-Auth-Token");
  });

  it("records each press as its own manual change and queues one sync job for the lead", async () => {
    const first = await call(postSync as Handler, { method: "POST", leadId: "880001", body: {} });
    const second = await call(postSync as Handler, { method: "POST", leadId: "880001", body: {} });
    expect(first).toMatchObject({ status: 202, body: { status: "queued", leadId: 880001 } });
    expect(second.status).toBe(202);
    const events = (await inboundEvents()).filter((event) => event.leadId === 880001);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ source: "manual", kind: "sync_now", payload: {}, processedAt: null });
    expect(events[0]!.dedupeKey).not.toBe(events[1]!.dedupeKey);
    const jobs = (await jobsOf(syncLeadJob.name, account.accountId)).filter((job) => job.data.leadId === 880001);
    expect(jobs.map((job) => job.state)).toEqual(["created"]);
    expect(jobs[0]!.singleton_key).toBe(`${account.accountId}:880001`);
    // The pane sees the press as pending until the job has run.
    expect((await call(getActivity as Handler, { leadId: "880001" })).body).toMatchObject({ sync: { pending: true, status: "never" } });
  });

  it.each(["abc", "0", "-1", "9007199254740992"])("refuses the lead id %j with 400 and writes nothing", async (leadId) => {
    const before = (await inboundEvents()).length;
    expect(await call(postSync as Handler, { method: "POST", leadId, body: {} })).toMatchObject({ status: 400, body: { error: { code: "invalid_lead_id" } } });
    expect((await inboundEvents()).length).toBe(before);
  });

  it("refuses with 409 while no Klaviyo key is set, and writes nothing", async () => {
    await connectKlaviyo(false);
    const before = (await inboundEvents()).length;
    expect(await call(postSync as Handler, { method: "POST", leadId: "880002", body: {} })).toMatchObject({ status: 409, body: { error: { code: "klaviyo_not_connected" } } });
    expect((await inboundEvents()).length).toBe(before);
    expect((await jobsOf(syncLeadJob.name, account.accountId)).filter((job) => job.data.leadId === 880002)).toEqual([]);
  });

  it("drives the real sync job: the deal reaches Klaviyo and the pane shows the profile and its stage", async () => {
    const pipeline = kommo.seedPipeline(account.kommoAccountId, { name: "Sales", stages: ["Qualified", "Proposal"] });
    const contact = kommo.seedContact(account.kommoAccountId, { firstName: "Grace", lastName: "Hopper", emails: ["grace@example.com"] });
    const lead = kommo.seedLead(account.kommoAccountId, { name: "Compiler licence", price: 1200, pipelineId: pipeline.id, statusId: pipeline.statuses[2]!.id, contactIds: [contact.id] });

    expect((await call(postSync as Handler, { method: "POST", leadId: String(lead.id), body: {} })).status).toBe(202);
    const job = (await jobsOf(syncLeadJob.name, account.accountId)).find((row) => row.data.leadId === lead.id)!;
    // What the worker does with the job.
    await syncLeadJob.handle(job.data, { id: job.id, queue: syncLeadJob.name, retryCount: 0, retryLimit: syncLeadJob.queue.retryLimit!, log: logger() });

    const profile = klaviyo.account.profileByEmail("grace@example.com");
    expect(profile?.properties).toMatchObject({ crm_stage: "Proposal", kommo_deal_id: lead.id });
    const { body } = await call(getActivity as Handler, { leadId: String(lead.id) });
    expect(body).toMatchObject({
      sync: { status: "ok", pending: false, problem: null, history: [{ status: "ok", trigger: "sync_now" }] },
      profile: { id: profile!.id, email: "grace@example.com", stage: "Proposal", url: `https://www.klaviyo.com/profile/${profile!.id}` },
      activity: [],
    });

    // A press that fails for good (Klaviyo no longer accepts the key) is not left "waiting": the
    // pane shows the failure and why.
    klaviyo.removeKey(KEY);
    try {
      expect((await call(postSync as Handler, { method: "POST", leadId: String(lead.id), body: {} })).status).toBe(202);
      expect((await call(getActivity as Handler, { leadId: String(lead.id) })).body).toMatchObject({ sync: { pending: true } });
      const retry = (await jobsOf(syncLeadJob.name, account.accountId)).find((row) => row.data.leadId === lead.id && row.state === "created")!;
      await syncLeadJob.handle(retry.data, { id: retry.id, queue: syncLeadJob.name, retryCount: 0, retryLimit: syncLeadJob.queue.retryLimit!, log: logger() });
    } finally {
      klaviyo.addKey(KEY);
    }
    expect((await call(getActivity as Handler, { leadId: String(lead.id) })).body).toMatchObject({
      sync: { status: "failed", pending: false, problem: { code: "klaviyo_invalid_key", reason: null, retryable: false } },
    });

    // An answer Klaviyo's API never gives is final too: the pane must not promise an automatic retry.
    klaviyo.faults.failNext(1, { kind: "garbled" }, { operation: "create_or_update_profile" });
    expect((await call(postSync as Handler, { method: "POST", leadId: String(lead.id), body: {} })).status).toBe(202);
    const garbled = (await jobsOf(syncLeadJob.name, account.accountId)).find((row) => row.data.leadId === lead.id && row.state === "created")!;
    await syncLeadJob.handle(garbled.data, { id: garbled.id, queue: syncLeadJob.name, retryCount: 0, retryLimit: syncLeadJob.queue.retryLimit!, log: logger() });
    klaviyo.faults.clear();
    expect((await call(getActivity as Handler, { leadId: String(lead.id) })).body).toMatchObject({
      sync: { status: "failed", problem: { code: "klaviyo_unexpected_response", retryable: false } },
    });
  });

  it("says whether the sync job retries a failure: a 5xx is retried, an answer Klaviyo should never give is final", async () => {
    const pipeline = kommo.seedPipeline(account.kommoAccountId, { name: "Renewals", stages: ["Due"] });
    const contact = kommo.seedContact(account.kommoAccountId, { firstName: "Alan", lastName: "Turing", emails: ["alan@example.com"] });
    const lead = kommo.seedLead(account.kommoAccountId, { name: "Bombe upkeep", price: 300, pipelineId: pipeline.id, statusId: pipeline.statuses[1]!.id, contactIds: [contact.id] });
    const runJob = async () => {
      expect((await call(postSync as Handler, { method: "POST", leadId: String(lead.id), body: {} })).status).toBe(202);
      const job = (await jobsOf(syncLeadJob.name, account.accountId)).find((row) => row.data.leadId === lead.id && row.state === "created")!;
      await syncLeadJob.handle(job.data, { id: job.id, queue: syncLeadJob.name, retryCount: 0, retryLimit: syncLeadJob.queue.retryLimit!, log: logger() }).catch(() => undefined);
      return (await call(getActivity as Handler, { leadId: String(lead.id) })).body as { sync: Record<string, unknown> };
    };

    // More 503s than the client's own in-place retries.
    klaviyo.faults.failNext(10, { kind: "status", status: 503 }, { operation: "create_or_update_profile" });
    expect((await runJob()).sync).toMatchObject({ status: "retrying", problem: { code: "klaviyo_server_error", retryable: true } });
    klaviyo.faults.clear();

    // A 200 that is not JSON: Klaviyo broke its contract, and trying again the same way will not help.
    klaviyo.faults.failNext(1, { kind: "html200" }, { operation: "create_or_update_profile" });
    expect((await runJob()).sync).toMatchObject({ status: "failed", problem: { code: "klaviyo_unexpected_response", retryable: false } });
    klaviyo.faults.clear();
  });
});

describe("a user Kommo restricts to some deals", () => {
  const USER = "GET /api/v4/users/{id}";
  let pipeline: ReturnType<KommoSimulator["seedPipeline"]>;
  const seed = (responsibleUserId: number, statusIndex = 1) =>
    kommo.seedLead(account.kommoAccountId, { name: "Restricted", pipelineId: pipeline.id, statusId: pipeline.statuses[statusIndex]!.id, responsibleUserId });
  const user = (name: string, input: Omit<Parameters<typeof addKommoUser>[2], "name" | "email" | "isAdmin">) =>
    addKommoUser(kommo.store, account.kommoAccountId, { name, email: `${name.toLowerCase()}@example.com`, isAdmin: false, ...input });
  const rights = (view: "A" | "G" | "M" | "D") => ({ view, edit: view, add: "A" as const, delete: view, export: view });
  const asUser = async (userId: number) => token({ userId, isAdmin: false });

  beforeAll(() => {
    pipeline = kommo.seedPipeline(account.kommoAccountId, { name: "Restricted sales", stages: ["Qualified", "Proposal"] });
  });
  beforeEach(() => forgetCachedRights());

  it("a user limited to their own deals reads and re-sends theirs, and is refused (403, nothing written) another's", async () => {
    const sam = user("Sam", { leads: rights("M") });
    const own = seed(sam.id);
    const others = seed(adminId);

    const ownPane = await call(getActivity as Handler, { leadId: String(own.id), token: await asUser(sam.id) });
    expect(ownPane.status).toBe(200);
    const before = (await inboundEvents()).length;
    const refusedPane = await call(getActivity as Handler, { leadId: String(others.id), token: await asUser(sam.id) });
    expect(refusedPane).toMatchObject({ status: 403, body: { error: { code: "lead_access_denied" } } });
    expect(JSON.stringify(refusedPane.body)).not.toContain("profile");
    const refusedPress = await call(postSync as Handler, { method: "POST", leadId: String(others.id), token: await asUser(sam.id), body: {} });
    expect(refusedPress).toMatchObject({ status: 403, body: { error: { code: "lead_access_denied" } } });
    expect((await inboundEvents()).length).toBe(before);
    expect((await jobsOf(syncLeadJob.name, account.accountId)).some((job) => job.data.leadId === others.id)).toBe(false);
    expect((await call(postSync as Handler, { method: "POST", leadId: String(own.id), token: await asUser(sam.id), body: {} })).status).toBe(202);
  });

  it("group rights: deals of the user's group only; no rights: not even their own; a deal Kommo does not have: 404", async () => {
    const lead1 = user("Lena", { groupId: 501, leads: rights("G") });
    const mate = user("Mate", { groupId: 501, leads: rights("M") });
    const stranger = user("Stan", { groupId: 502, leads: rights("M") });
    const denied = user("Dina", { leads: rights("D") });
    expect((await call(getActivity as Handler, { leadId: String(seed(mate.id).id), token: await asUser(lead1.id) })).status).toBe(200);
    expect((await call(getActivity as Handler, { leadId: String(seed(stranger.id).id), token: await asUser(lead1.id) })).status).toBe(403);
    expect((await call(getActivity as Handler, { leadId: String(seed(denied.id).id), token: await asUser(denied.id) })).status).toBe(403);
    expect((await call(getActivity as Handler, { leadId: String(seed(mate.id).id), token: await asUser(denied.id) })).status).toBe(403);
    expect(await call(getActivity as Handler, { leadId: "2147000000", token: await asUser(lead1.id) })).toMatchObject({ status: 404, body: { error: { code: "lead_not_found" } } });
  });

  it("a stage's rights replace the general ones, and rights are cached briefly instead of asked on every pane", async () => {
    const stageRights = [{ entity_type: "leads" as const, pipeline_id: 0, status_id: 0, rights: { view: "D" as const, edit: "D" as const, delete: "D" as const } }];
    const vera = user("Vera", { leads: rights("A"), statusRights: stageRights });
    stageRights[0]!.pipeline_id = pipeline.id;
    stageRights[0]!.status_id = pipeline.statuses[2]!.id;
    kommo.resetCounters();
    expect((await call(getActivity as Handler, { leadId: String(seed(adminId, 1).id), token: await asUser(vera.id) })).status).toBe(200);
    expect((await call(getActivity as Handler, { leadId: String(seed(adminId, 2).id), token: await asUser(vera.id) })).status).toBe(403);
    expect(kommo.count(USER)).toBe(1);
  });

  it("an account whose Kommo access lapsed: the pane says so (the fix is a reinstall); a restricted user is told the same", async () => {
    const sam = user("Sid", { leads: rights("M") });
    const lead = seed(sam.id);
    await db().account.update({ where: { id: account.accountId }, data: { status: "needs_reauth", statusReason: "Kommo refused to renew this integration's access" } });
    try {
      const pane = await call(getActivity as Handler, { leadId: String(lead.id) });
      expect(pane).toMatchObject({ status: 200, body: { kommoAccess: "needs_reauth" } });
      expect(await call(getActivity as Handler, { leadId: String(lead.id), token: await asUser(sam.id) })).toMatchObject({
        status: 409,
        body: { error: { code: "kommo_reauth_required" } },
      });
    } finally {
      await db().account.update({ where: { id: account.accountId }, data: { status: "installed", statusReason: null } });
    }
  });

  it("throttles each user of the routes that call Kommo or Klaviyo: 429 with Retry-After, other users unaffected", async () => {
    const flood = user("Flo", { leads: rights("A") });
    const lead = seed(flood.id);
    const floodToken = await asUser(flood.id);
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 100 && !limited; i++) {
      const answer = await call(getActivity as Handler, { leadId: String(lead.id), token: floodToken });
      statuses.push(answer.status);
      if (answer.status === 429) limited = answer;
    }
    expect(limited, statuses.join(",")).toMatchObject({ status: 429, body: { error: { code: "user_rate_limited" } } });
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited!.headers.get("access-control-expose-headers")).toContain("Retry-After");
    const pressed = await call(postSync as Handler, { method: "POST", leadId: String(lead.id), token: floodToken, body: {} });
    expect(pressed.status).toBe(429);
    // Someone else of the same account is not slowed down by it.
    expect((await call(getActivity as Handler, { leadId: String(lead.id), token: await asUser(user("Other", { leads: rights("A") }).id) })).status).toBe(200);
  });
});
