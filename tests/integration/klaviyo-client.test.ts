// The real Klaviyo client, with the shared Postgres rate limiter, against the Klaviyo simulator over
// HTTP: every operation the product uses, the errors it must turn into actionable messages, and a
// deal synced through the mapping. Every request the simulator sees must be valid against the spec.
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { KlaviyoClient, KlaviyoError, KlaviyoScopeError, type KlaviyoClientOptions } from "@/lib/integrations/klaviyo";
import { mapDealToKlaviyo, type DealSnapshot, type MappingInput, type SyncOperation } from "@/lib/features/sync/mapping";
import { syncSettingsSchema } from "@/lib/features/settings/settings";
import { ALL_SCOPES, startKlaviyoSimulator, type KlaviyoSimulator } from "@/tests/simulators/klaviyo";

const KEY = "pk_integration_full_0001";
let sim: KlaviyoSimulator;

beforeEach(async () => {
  sim = await startKlaviyoSimulator({ jobDelayMs: 50 });
  sim.addKey(KEY);
});

afterEach(async () => {
  // Whatever a test did, the client only ever sent what Klaviyo's spec accepts.
  expect(sim.invalidRequests()).toEqual([]);
  await sim.close();
});

afterAll(async () => {
  await db().$disconnect();
});

const clientFor = (options: Partial<KlaviyoClientOptions> = {}) =>
  new KlaviyoClient({ apiKey: KEY, limiterId: randomUUID(), baseUrl: sim.url, ...options });

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() - started > timeoutMs) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("profiles", () => {
  it("upsert: 201 creates, 200 updates the same profile", async () => {
    const klaviyo = clientFor();
    const first = await klaviyo.upsertProfile({ email: "jane@example.com", first_name: "Jane", properties: { crm_stage: "New lead", deal_amount: 100 } });
    const second = await klaviyo.upsertProfile({ email: "jane@example.com", first_name: null, properties: { crm_stage: "Won" } });
    expect(first).toMatchObject({ created: true });
    expect(second).toEqual({ profileId: first.profileId, created: false, ignoredIdentifiers: [], conflictingProfileId: null });
    expect(sim.account.profileByEmail("jane@example.com")).toMatchObject({ id: first.profileId, first_name: null, properties: { crm_stage: "Won", deal_amount: 100 } });
    expect(sim.requestsFor("create_or_update_profile").map((request) => request.status)).toEqual([201, 200]);
    expect(klaviyo.calls).toBe(2);
  });

  it("409 duplicate_profile is resolved: the email's profile is synced without the other profile's phone", async () => {
    const klaviyo = clientFor();
    const phoneOwner = await klaviyo.upsertProfile({ email: "reception@example.com", phone_number: "+14155552671" });
    const result = await klaviyo.upsertProfile({ email: "jane@example.com", phone_number: "+14155552671", last_name: "Doe" });
    expect(result).toEqual({
      profileId: sim.account.profileByEmail("jane@example.com")!.id,
      created: true,
      ignoredIdentifiers: ["phone_number"],
      conflictingProfileId: phoneOwner.profileId,
    });
    expect(sim.account.profileByEmail("jane@example.com")).toMatchObject({ last_name: "Doe", phone_number: null });
    expect(sim.account.profileByEmail("reception@example.com")!.phone_number).toBe("+14155552671");
    expect(sim.requestsFor("create_or_update_profile").map((request) => request.status)).toEqual([201, 409, 201]);
  });

  it("finds a profile by email", async () => {
    const klaviyo = clientFor();
    const { profileId } = await klaviyo.upsertProfile({ email: "jane@example.com", organization: "Acme" });
    expect(await klaviyo.getProfilesByEmail("Jane@Example.com")).toEqual([
      { id: profileId, email: "jane@example.com", phoneNumber: null, firstName: null, lastName: null, organization: "Acme", properties: {} },
    ]);
    expect(await klaviyo.getProfilesByEmail("nobody@example.com")).toEqual([]);
  });
});

describe("lists", () => {
  it("adds a profile to a list and removes it", async () => {
    const klaviyo = clientFor();
    const list = sim.account.createList("Negotiation");
    const { profileId } = await klaviyo.upsertProfile({ email: "jane@example.com" });
    await klaviyo.addProfilesToList(list.id, [profileId]);
    expect(sim.account.membersOf(list.id).map((profile) => profile.id)).toEqual([profileId]);
    await klaviyo.removeProfilesFromList(list.id, [profileId]);
    expect(sim.account.membersOf(list.id)).toEqual([]);
  });

  it("reads all lists across pages of 10", async () => {
    for (let index = 0; index < 23; index++) sim.account.createList(`List ${String(index).padStart(2, "0")}`);
    const lists = await clientFor().getLists();
    expect(lists).toHaveLength(23);
    expect(lists.map((list) => list.name)).toEqual([...lists.map((list) => list.name)].sort());
    const pages = sim.requestsFor("get_lists");
    expect(pages).toHaveLength(3);
    expect(pages[0]!.query).not.toHaveProperty("page[cursor]");
    expect(pages.slice(1).every((page) => typeof page.query["page[cursor]"] === "string")).toBe(true);
  });

  it("a list that no longer exists is a not-found error that retrying will not fix", async () => {
    const klaviyo = clientFor();
    const { profileId } = await klaviyo.upsertProfile({ email: "jane@example.com" });
    await expect(klaviyo.addProfilesToList("Gone12", [profileId])).rejects.toMatchObject({ kind: "not_found", retryable: false, status: 404 });
  });
});

describe("events", () => {
  const event = (uniqueId: string, extra: Record<string, unknown> = {}) => ({
    metric: "Deal Won",
    profile: { email: "jane@example.com" },
    properties: { deal_name: "Redesign", kommo_deal_id: 1001 },
    time: "2026-01-01T00:00:00.000Z",
    value: 12_500,
    value_currency: "USD",
    unique_id: uniqueId,
    ...extra,
  });

  it("the same unique_id sent twice is one event; two changes in one second with their own ids are two", async () => {
    const klaviyo = clientFor();
    await klaviyo.createEvent(event("kommo:1:lead:1001:won:55-142:1767225600"));
    await klaviyo.createEvent(event("kommo:1:lead:1001:won:55-142:1767225600"));
    expect(sim.account.eventsNamed("Deal Won", "jane@example.com")).toHaveLength(1);
    await klaviyo.createEvent(event("kommo:1:lead:1001:won:143-142:1767225600"));
    expect(sim.account.eventsNamed("Deal Won", "jane@example.com")).toHaveLength(2);
    expect(sim.account.eventsNamed("Deal Won")[0]).toMatchObject({ value: 12_500, valueCurrency: "USD", backfill: false, datetime: "2026-01-01T00:00:00+00:00" });
  });

  it("records backfill events as such", async () => {
    await clientFor().createEvent(event("u-backfill", { backfill: true }));
    expect(sim.account.eventsNamed("Deal Won")[0]!.backfill).toBe(true);
  });

  it("reads email activity: metrics by integration, events by metric, profile and time, page by page", async () => {
    const klaviyo = clientFor();
    for (let minute = 0; minute < 5; minute++) {
      sim.account.seedEvent({ metric: "Opened Email", email: "jane@example.com", datetime: new Date(Date.UTC(2026, 0, 1, 9, minute)), properties: { Subject: `Offer ${minute}` } });
    }
    sim.account.seedEvent({ metric: "Clicked Email", email: "jane@example.com", datetime: new Date(Date.UTC(2026, 0, 1, 9, 30)) });
    const metrics = await klaviyo.getMetrics({ integrationName: "Klaviyo" });
    const opened = metrics.find((metric) => metric.name === "Opened Email")!;
    expect(opened.integration).toEqual({ name: "Klaviyo", category: "Internal" });
    const profileId = sim.account.profileByEmail("jane@example.com")!.id;
    const query = { metricId: opened.id, profileId, since: new Date(Date.UTC(2026, 0, 1, 9, 0)), sort: "datetime" as const, pageSize: 2, includeProfiles: true };
    const subjects: unknown[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await klaviyo.getEvents({ ...query, cursor });
      subjects.push(...page.events.map((item) => item.properties.Subject));
      expect(page.events.every((item) => item.metricId === opened.id && item.profileId === profileId)).toBe(true);
      expect(page.profileEmails).toEqual({ [profileId]: "jane@example.com" });
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(subjects).toEqual(["Offer 1", "Offer 2", "Offer 3", "Offer 4"]);
    expect(pages).toBe(2);
  });
});

describe("account and key problems", () => {
  it("reads the account behind the key", async () => {
    expect(await clientFor().getAccount()).toMatchObject({ id: sim.account.id, organizationName: "Simulated Store", preferredCurrency: "USD" });
  });

  it("an unknown key: invalid_key, not retryable, the message shows the key's hint only", async () => {
    const apiKey = "pk_revoked_key_0000_7c1d";
    const error = await clientFor({ apiKey })
      .getAccount()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KlaviyoError);
    expect(error).toMatchObject({ kind: "invalid_key", retryable: false, status: 401 });
    expect((error as Error).message).toContain("pk_…7c1d");
    expect((error as Error).message).not.toContain(apiKey);
  });

  it("a key without events:write: a scope error that says which scope to add", async () => {
    const apiKey = "pk_integration_no_events_0002";
    sim.addKey(apiKey, { scopes: ALL_SCOPES.filter((scope) => scope !== "events:write") });
    const klaviyo = clientFor({ apiKey });
    await klaviyo.upsertProfile({ email: "jane@example.com" });
    const error = await klaviyo.createEvent({ metric: "Deal Won", profile: { email: "jane@example.com" }, properties: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KlaviyoScopeError);
    expect(error).toMatchObject({ retryable: false, scopes: ["events:write"] });
    expect((error as Error).message).toMatch(/^Klaviyo key pk_…0002 lacks the events:write scope needed to create events/);
  });

  it("a firewall's HTML 403 is retryable and does not read as a scope problem", async () => {
    sim.faults.failNext(1, { kind: "html403" });
    await expect(clientFor().getLists()).rejects.toMatchObject({ kind: "blocked", retryable: true });
  });

  it("a server error is retryable, and a retry after a lost answer does not duplicate the event", async () => {
    const klaviyo = clientFor({ maxTransientRetries: 0 });
    sim.faults.failNext(1, { kind: "status", status: 500 }, { operation: "create_event", afterApply: true });
    const won = { metric: "Deal Won", profile: { email: "jane@example.com" }, properties: {}, unique_id: "kommo:1:lead:7:won:55-142:1767225600" };
    await expect(klaviyo.createEvent(won)).rejects.toMatchObject({ kind: "server_error", retryable: true, status: 500 });
    await klaviyo.createEvent(won);
    expect(sim.account.eventsNamed("Deal Won")).toHaveLength(1);
  });

  it("retries a lost answer in place: the call succeeds and the event exists once", async () => {
    const klaviyo = clientFor();
    sim.faults.failNext(1, { kind: "status", status: 502 }, { operation: "create_event", afterApply: true });
    const lost = { metric: "Deal Lost", profile: { email: "jane@example.com" }, properties: {}, unique_id: "kommo:1:lead:8:lost:55-143:1767225600" };
    await klaviyo.createEvent(lost);
    expect(klaviyo.calls).toBe(2);
    expect(sim.account.eventsNamed("Deal Lost")).toHaveLength(1);
  });

  it("a request that hangs times out, retryable", async () => {
    sim.faults.failNext(1, { kind: "slow", delayMs: 1500 });
    await expect(clientFor({ timeoutMs: 200, maxTransientRetries: 0 }).getLists()).rejects.toMatchObject({ kind: "timeout", retryable: true, status: null });
  });

  it("a dropped connection is a retryable network error", async () => {
    sim.faults.failNext(1, { kind: "reset" });
    await expect(clientFor({ maxTransientRetries: 0 }).getLists()).rejects.toMatchObject({ kind: "network", retryable: true });
  });
});

describe("bulk jobs", () => {
  it("imports profiles into a list and reports the job complete", async () => {
    const klaviyo = clientFor();
    const list = sim.account.createList("All CRM deals");
    const profiles = Array.from({ length: 25 }, (_, index) => ({ email: `contact${index}@example.com`, properties: { kommo_deal_id: index } }));
    const job = await klaviyo.createProfileImportJob(profiles, { listIds: [list.id] });
    expect(job).toMatchObject({ status: "queued", totalCount: 25 });
    const done = await until(() => klaviyo.getProfileImportJob(job.id), (state) => state.status === "complete");
    expect(done).toMatchObject({ completedCount: 25, failedCount: 0, completedAt: expect.any(String) });
    expect(sim.account.membersOf(list.id)).toHaveLength(25);
    expect(sim.account.profileByEmail("contact7@example.com")!.properties).toEqual({ kommo_deal_id: 7 });
  });

  it("creates events in bulk, de-duplicated per profile and metric before sending", async () => {
    const klaviyo = clientFor();
    const events = [0, 1, 2, 2].map((index) => ({
      metric: "Deal Created",
      profile: { email: `contact${index}@example.com` },
      properties: { kommo_deal_id: index },
      time: "2025-06-01T00:00:00.000Z",
      unique_id: `kommo:1:lead:${index}:created:none-54:1748736000`,
    }));
    expect(await klaviyo.createEventBulkJob(events, { backfill: true })).toEqual({ sent: 3, duplicatesDropped: 1 });
    await until(async () => sim.account.eventsNamed("Deal Created").length, (count) => count === 3);
    expect(sim.account.eventsNamed("Deal Created").every((item) => item.backfill)).toBe(true);
  });
});

describe("a deal synced through the mapping", () => {
  const PIPELINE = 7001;
  const snapshot = (statusId: number, stageName: string): DealSnapshot => ({
    lead: { id: 1001, name: "Website redesign", price: 12_500, pipelineId: PIPELINE, statusId, responsibleUserName: "Maria Manager", lossReason: null },
    stageName,
    pipelineName: "Sales",
    mainContact: { id: 501, firstName: "Jane", lastName: "Doe", emails: ["jane@example.com"], phones: ["+1 415 555 2671"] },
    companyName: "Example Corp",
  });

  // What the sync job does with a plan: run it in order, list calls on the profile the upsert returned.
  async function apply(klaviyo: KlaviyoClient, operations: SyncOperation[], knownProfileId: string | null) {
    let profileId = knownProfileId;
    for (const operation of operations) {
      if (operation.type === "upsertProfile") profileId = (await klaviyo.upsertProfile(operation.attributes)).profileId;
      else if (operation.type === "addToList") await klaviyo.addProfilesToList(operation.listId, [operation.profileId ?? profileId!]);
      else if (operation.type === "removeFromList") await klaviyo.removeProfilesFromList(operation.listId, [operation.profileId ?? profileId!]);
      else await klaviyo.createEvent(operation.event);
    }
    return profileId;
  }

  it("created, moved to Negotiation, then Won: the profile, lists and events Klaviyo ends up with", async () => {
    const klaviyo = clientFor();
    const negotiation = sim.account.createList("Negotiation");
    const won = sim.account.createList("Won");
    const all = sim.account.createList("All CRM deals");
    const settings = syncSettingsSchema.parse({
      stageLists: [
        { pipelineId: PIPELINE, statusId: 55, listId: negotiation.id },
        { pipelineId: PIPELINE, statusId: 142, listId: won.id },
      ],
      allDealsListId: all.id,
      removeFromPreviousList: true,
    });
    const account = { kommoAccountId: 31_234_567, host: "acme.kommo.com", currency: "USD", country: "US" };
    const base = { account, settings, keepListIds: [] } satisfies Partial<MappingInput>;
    const steps: Pick<MappingInput, "deal" | "changes">[] = [
      { deal: snapshot(54, "New lead"), changes: [{ kind: "created", changedAt: 1_767_225_600 }] },
      { deal: snapshot(55, "Negotiation"), changes: [{ kind: "stage_changed", changedAt: 1_767_225_660, previousStatusId: 54 }] },
      { deal: snapshot(142, "Closed - won"), changes: [{ kind: "stage_changed", changedAt: 1_767_225_720, previousStatusId: 55 }] },
    ];
    let previous: MappingInput["previous"] = null;
    for (const step of steps) {
      // Each step twice: a retried sync must change nothing.
      for (let attempt = 0; attempt < 2; attempt++) {
        const plan = mapDealToKlaviyo({ ...base, ...step, previous });
        if ("skip" in plan) throw new Error(plan.skip);
        const profileId = await apply(klaviyo, plan.operations, previous?.profileId ?? null);
        if (attempt === 1) previous = { ...plan.nextState, profileId };
      }
    }

    expect(sim.account.profiles.size).toBe(1);
    expect(sim.account.profileByEmail("jane@example.com")).toMatchObject({
      first_name: "Jane",
      last_name: "Doe",
      organization: "Example Corp",
      phone_number: "+14155552671",
      external_id: null,
      properties: {
        crm_stage: "Won",
        deal_amount: 12_500,
        kommo_deal_id: 1001,
        kommo_pipeline: "Sales",
        kommo_deal_name: "Website redesign",
        kommo_responsible: "Maria Manager",
        kommo_deal_url: "https://acme.kommo.com/leads/detail/1001",
      },
    });
    expect(sim.account.membersOf(won.id).map((profile) => profile.email)).toEqual(["jane@example.com"]);
    expect(sim.account.membersOf(all.id).map((profile) => profile.email)).toEqual(["jane@example.com"]);
    expect(sim.account.membersOf(negotiation.id)).toEqual([]);
    const metricOf = (id: string) => sim.account.metrics.get(id)!.name;
    expect(sim.account.events.map((item) => [metricOf(item.metricId), item.properties.previous_stage ?? null, item.properties.deal_stage])).toEqual([
      ["Deal Created", null, "New lead"],
      ["Stage Changed", "New lead", "Negotiation"],
      ["Stage Changed", "Negotiation", "Won"],
      ["Deal Won", null, "Won"],
    ]);
    expect(sim.account.events.every((item) => item.value === 12_500 && item.valueCurrency === "USD" && item.uniqueId !== null)).toBe(true);
  });
});
