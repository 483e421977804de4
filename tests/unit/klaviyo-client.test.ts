// The Klaviyo client's requests (headers, URLs, bodies as in the spec), paging, retries and limits,
// against a scripted fetch and an in-memory limiter.
import { afterEach, describe, expect, it } from "vitest";
import { resetEnvForTests } from "@/lib/platform/env";
import { KlaviyoClient, type KlaviyoClientOptions } from "@/lib/integrations/klaviyo/client";
import { KlaviyoError, KlaviyoInvalidInputError, KlaviyoRateLimitError } from "@/lib/integrations/klaviyo/errors";
import { bucketLimits, OPERATIONS } from "@/lib/integrations/klaviyo/operations";
import type { RateLimiter } from "@/lib/integrations/klaviyo/transport";

const API_KEY = "pk_unit_0123456789abcdef9f3a";
const BASE = "https://klaviyo.test";

type Sent = { url: URL; method: string; headers: Record<string, string>; body: unknown };
type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error | "hang";

function scripted(replies: Reply[] | ((sent: Sent, index: number) => Reply)) {
  const sent: Sent[] = [];
  const fetch = (async (input: URL | RequestInfo, init?: RequestInit) => {
    const request: Sent = {
      url: new URL(String(input)),
      method: init?.method ?? "GET",
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
    };
    sent.push(request);
    const reply = typeof replies === "function" ? replies(request, sent.length - 1) : replies[sent.length - 1];
    if (!reply) throw new Error(`no scripted reply for request ${sent.length}`);
    if (reply instanceof Error) throw reply;
    if (reply === "hang") {
      return new Promise<Response>((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    }
    const text = reply.body === undefined ? null : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
    return new Response(text, { status: reply.status, headers: { "content-type": "application/vnd.api+json", ...reply.headers } });
  }) as typeof globalThis.fetch;
  return { sent, fetch };
}

function recordingLimiter() {
  const acquired: { key: string; limits: unknown }[] = [];
  const paused: { key: string; limits: unknown; seconds: number }[] = [];
  const limiter: RateLimiter = {
    acquire: async (key, limits) => acquired.push({ key, limits }),
    pause: async (key, limits, seconds) => {
      paused.push({ key, limits, seconds });
    },
  };
  return { limiter, acquired, paused };
}

function client(fetch: typeof globalThis.fetch, options: Partial<KlaviyoClientOptions> = {}) {
  const { limiter, acquired, paused } = recordingLimiter();
  return { client: new KlaviyoClient({ apiKey: API_KEY, limiterId: "acc-1", baseUrl: BASE, revision: "2026-07-15", limiter, fetch, ...options }), acquired, paused };
}

const profileBody = (id: string, attributes: Record<string, unknown> = {}) => ({
  data: { type: "profile", id, attributes: { email: "jane@example.com", ...attributes }, links: { self: `${BASE}/api/profiles/${id}` } },
});

const duplicate = (id: string) => ({
  status: 409,
  body: { errors: [{ id: "e", status: 409, code: "duplicate_profile", title: "Conflict.", detail: "A profile already exists with one of these identifiers.", source: { pointer: "/data/attributes" }, meta: { duplicate_profile_id: id } }] },
});

afterEach(() => {
  delete process.env.KLAVIYO_REVISION;
  delete process.env.KLAVIYO_API_BASE_URL;
  resetEnvForTests();
});

describe("requests", () => {
  it("sends the key, the revision and JSON:API content types; a body only where there is one", async () => {
    const { sent, fetch } = scripted([{ status: 201, body: profileBody("01A") }, { status: 200, body: { data: [], links: {} } }]);
    const { client: klaviyo } = client(fetch);
    await klaviyo.upsertProfile({ email: "jane@example.com" });
    await klaviyo.getLists();
    expect(sent[0]!.headers).toEqual({
      authorization: `Klaviyo-API-Key ${API_KEY}`,
      revision: "2026-07-15",
      accept: "application/vnd.api+json",
      "content-type": "application/vnd.api+json",
    });
    expect(sent[1]!.headers).not.toHaveProperty("content-type");
    expect(sent[1]!.body).toBeUndefined();
  });

  it("takes the base URL and revision from the environment by default", async () => {
    process.env.KLAVIYO_REVISION = "2026-04-15";
    process.env.KLAVIYO_API_BASE_URL = "http://127.0.0.1:9/";
    resetEnvForTests();
    const { sent, fetch } = scripted([{ status: 200, body: { data: [], links: {} } }]);
    const { limiter } = recordingLimiter();
    await new KlaviyoClient({ apiKey: API_KEY, limiterId: "acc-1", limiter, fetch }).getLists();
    expect(sent[0]!.url.origin).toBe("http://127.0.0.1:9");
    expect(sent[0]!.headers.revision).toBe("2026-04-15");
  });

  it("upserts a profile with the body of ProfileUpsertQuery; 201 = created, 200 = updated", async () => {
    const { sent, fetch } = scripted([{ status: 201, body: profileBody("01A") }, { status: 200, body: profileBody("01A") }]);
    const { client: klaviyo } = client(fetch);
    const attributes = { email: "jane@example.com", first_name: null, phone_number: "+14155552671", properties: { crm_stage: "Won", deal_amount: 12.5 } };
    expect(await klaviyo.upsertProfile(attributes)).toEqual({ profileId: "01A", created: true, ignoredIdentifiers: [], conflictingProfileId: null });
    expect(await klaviyo.upsertProfile(attributes)).toMatchObject({ created: false });
    expect(sent[0]!.method).toBe("POST");
    expect(sent[0]!.url.href).toBe(`${BASE}/api/profile-import`);
    expect(sent[0]!.body).toEqual({ data: { type: "profile", attributes } });
  });

  it("reports a phone Klaviyo ignored (X-Klaviyo-Partial-Failure)", async () => {
    const { fetch } = scripted([{ status: 200, body: profileBody("01A"), headers: { "x-klaviyo-partial-failure": "phone_number" } }]);
    expect((await client(fetch).client.upsertProfile({ email: "jane@example.com", phone_number: "+1" })).ignoredIdentifiers).toEqual(["phone_number"]);
  });

  it("resolves a 409 duplicate_profile by upserting on the email alone", async () => {
    const { sent, fetch } = scripted([duplicate("01OTHER"), { status: 200, body: profileBody("01MINE") }]);
    const { client: klaviyo } = client(fetch);
    const result = await klaviyo.upsertProfile({ email: "jane@example.com", phone_number: "+14155552671", first_name: "Jane" });
    expect(result).toEqual({ profileId: "01MINE", created: false, ignoredIdentifiers: ["phone_number"], conflictingProfileId: "01OTHER" });
    expect(sent[1]!.body).toEqual({ data: { type: "profile", attributes: { email: "jane@example.com", first_name: "Jane" } } });
    expect(klaviyo.calls).toBe(2);
  });

  it("a 409 with nothing to leave out resolves to the profile that holds the identifier", async () => {
    const { fetch } = scripted([duplicate("01OTHER")]);
    const { client: klaviyo } = client(fetch);
    expect(await klaviyo.upsertProfile({ email: "jane@example.com" })).toEqual({
      profileId: "01OTHER",
      created: false,
      ignoredIdentifiers: [],
      conflictingProfileId: "01OTHER",
    });
    expect(klaviyo.calls).toBe(1);
  });

  it("a 409 that is not duplicate_profile is an error", async () => {
    const { fetch } = scripted([{ status: 409, body: { errors: [{ id: "e", code: "conflict", title: "Conflict.", detail: "busy" }] } }]);
    await expect(client(fetch).client.upsertProfile({ email: "jane@example.com" })).rejects.toBeInstanceOf(KlaviyoInvalidInputError);
  });

  it("adds and removes list members in calls of at most 1000, without repeats", async () => {
    const { sent, fetch } = scripted(() => ({ status: 204 }));
    const { client: klaviyo } = client(fetch);
    const ids = Array.from({ length: 2500 }, (_, index) => `P${index}`);
    await klaviyo.addProfilesToList("Ls/1", [...ids, "P0"]);
    expect(sent.map((request) => [request.method, request.url.pathname, (request.body as { data: unknown[] }).data.length])).toEqual([
      ["POST", "/api/lists/Ls%2F1/relationships/profiles", 1000],
      ["POST", "/api/lists/Ls%2F1/relationships/profiles", 1000],
      ["POST", "/api/lists/Ls%2F1/relationships/profiles", 500],
    ]);
    expect((sent[0]!.body as { data: unknown[] }).data[0]).toEqual({ type: "profile", id: "P0" });
    await klaviyo.removeProfilesFromList("LsA", ["P1"]);
    expect(sent[3]).toMatchObject({ method: "DELETE", body: { data: [{ type: "profile", id: "P1" }] } });
    await klaviyo.addProfilesToList("LsA", []);
    expect(sent).toHaveLength(4);
  });

  it("creates an event with the body of EventCreateQueryV2 (snake_case unique_id)", async () => {
    const { sent, fetch } = scripted([{ status: 202 }, { status: 202 }]);
    const { client: klaviyo } = client(fetch);
    await klaviyo.createEvent({
      metric: "Deal Won",
      profile: { email: "jane@example.com" },
      properties: { deal_name: "X", kommo_deal_id: 7 },
      time: "2026-01-01T00:00:00.000Z",
      value: 10,
      value_currency: "USD",
      unique_id: "kommo:1:lead:7:won:55-142:1767225600",
      backfill: true,
    });
    expect(sent[0]!.url.pathname).toBe("/api/events");
    expect(sent[0]!.body).toEqual({
      data: {
        type: "event",
        attributes: {
          properties: { deal_name: "X", kommo_deal_id: 7 },
          metric: { data: { type: "metric", attributes: { name: "Deal Won" } } },
          time: "2026-01-01T00:00:00.000Z",
          value: 10,
          value_currency: "USD",
          unique_id: "kommo:1:lead:7:won:55-142:1767225600",
          backfill: true,
          profile: { data: { type: "profile", attributes: { email: "jane@example.com" } } },
        },
      },
    });
    await klaviyo.createEvent({ metric: "M", profile: { id: "01A" }, properties: {} });
    expect(sent[1]!.body).toEqual({
      data: { type: "event", attributes: { properties: {}, metric: { data: { type: "metric", attributes: { name: "M" } } }, profile: { data: { type: "profile", id: "01A", attributes: {} } } } },
    });
  });

  it("reads every page of lists by following links.next", async () => {
    const page = (ids: string[], next?: string) => ({
      status: 200,
      body: { data: ids.map((id) => ({ type: "list", id, attributes: { name: `List ${id}`, opt_in_process: "single_opt_in", created: null, updated: null }, links: { self: "x" } })), links: { self: "x", ...(next && { next }) } },
    });
    const { sent, fetch } = scripted([
      page(["A", "B"], `${BASE}/api/lists?page%5Bcursor%5D=c2&sort=name`),
      page(["C"], `${BASE}/api/lists?page%5Bcursor%5D=c3&sort=name`),
      page(["D"]),
    ]);
    const lists = await client(fetch).client.getLists();
    expect(lists.map((list) => list.id)).toEqual(["A", "B", "C", "D"]);
    expect(lists[0]).toEqual({ id: "A", name: "List A", optInProcess: "single_opt_in", created: null, updated: null });
    expect(Object.fromEntries(sent[0]!.url.searchParams)).toEqual({ "fields[list]": "name,created,updated,opt_in_process", sort: "name" });
    expect(sent[1]!.url.searchParams.get("page[cursor]")).toBe("c2");
    expect(sent[2]!.url.searchParams.get("page[cursor]")).toBe("c3");
  });

  it("does not follow a paging link to another host (the key would go with it)", async () => {
    const { sent, fetch } = scripted([{ status: 200, body: { data: [], links: { next: "https://evil.test/api/lists?page%5Bcursor%5D=x" } } }]);
    await expect(client(fetch).client.getLists()).rejects.toMatchObject({ kind: "unexpected_response" });
    expect(sent).toHaveLength(1);
  });

  it("queries events with the filters the spec allows and returns the next cursor", async () => {
    const { sent, fetch } = scripted([
      {
        status: 200,
        body: {
          data: [
            {
              type: "event",
              id: "E1",
              attributes: { timestamp: 1767225600, datetime: "2026-01-01T00:00:00+00:00", uuid: "u", event_properties: { Subject: "Hi" } },
              relationships: { profile: { data: { type: "profile", id: "P1" } }, metric: { data: { type: "metric", id: "M1" } } },
              links: { self: "x" },
            },
          ],
          included: [{ type: "profile", id: "P1", attributes: { email: "jane@example.com" } }],
          links: { self: "x", next: `${BASE}/api/events?page%5Bcursor%5D=NEXT` },
        },
      },
    ]);
    const page = await client(fetch).client.getEvents({
      metricId: "M1",
      profileId: "P1",
      since: new Date("2026-01-01T00:00:00.250Z"),
      sort: "datetime",
      pageSize: 100,
      cursor: "CUR",
      includeProfiles: true,
    });
    expect(Object.fromEntries(sent[0]!.url.searchParams)).toEqual({
      filter: 'equals(metric_id,"M1"),equals(profile_id,"P1"),greater-than(datetime,2026-01-01T00:00:00Z)',
      sort: "datetime",
      "page[size]": "100",
      "page[cursor]": "CUR",
      include: "profile",
      "fields[profile]": "email",
    });
    expect(page).toEqual({
      events: [{ id: "E1", datetime: "2026-01-01T00:00:00+00:00", timestamp: 1767225600, uuid: "u", properties: { Subject: "Hi" }, profileId: "P1", metricId: "M1" }],
      profileEmails: { P1: "jane@example.com" },
      nextCursor: "NEXT",
    });
    await expect(client(fetch).client.getEvents({ pageSize: 1001 })).rejects.toBeInstanceOf(RangeError);
  });

  it("looks profiles up by email with the value quoted and escaped", async () => {
    const { sent, fetch } = scripted([{ status: 200, body: { data: [profileBody("01A").data], links: {} } }]);
    const profiles = await client(fetch).client.getProfilesByEmail(' odd"name@example.com ');
    expect(sent[0]!.url.searchParams.get("filter")).toBe('equals(email,"odd\\"name@example.com")');
    expect(profiles).toEqual([{ id: "01A", email: "jane@example.com", phoneNumber: null, firstName: null, lastName: null, organization: null, properties: {} }]);
  });

  it("reads metrics (optionally of one integration) across pages", async () => {
    const metric = (id: string) => ({ type: "metric", id, attributes: { name: `M ${id}`, integration: { name: "Klaviyo", category: "Internal" } }, links: { self: "x" } });
    const { sent, fetch } = scripted([
      { status: 200, body: { data: [metric("A")], links: { next: `${BASE}/api/metrics?page%5Bcursor%5D=2` } } },
      { status: 200, body: { data: [metric("B")], links: {} } },
    ]);
    const metrics = await client(fetch).client.getMetrics({ integrationName: "Klaviyo" });
    expect(metrics).toEqual([
      { id: "A", name: "M A", integration: { name: "Klaviyo", category: "Internal" } },
      { id: "B", name: "M B", integration: { name: "Klaviyo", category: "Internal" } },
    ]);
    expect(sent[0]!.url.searchParams.get("filter")).toBe('equals(integration.name,"Klaviyo")');
  });

  it("reads the account the key belongs to", async () => {
    const { sent, fetch } = scripted([
      {
        status: 200,
        body: {
          data: [
            {
              type: "account",
              id: "AbC123",
              attributes: { test_account: false, contact_information: { organization_name: "Acme" }, timezone: "UTC", preferred_currency: "EUR", public_api_key: "AbC123", locale: "en-US" },
              links: { self: "x" },
            },
          ],
        },
      },
    ]);
    expect(await client(fetch).client.getAccount()).toEqual({
      id: "AbC123",
      organizationName: "Acme",
      timezone: "UTC",
      preferredCurrency: "EUR",
      publicApiKey: "AbC123",
      testAccount: false,
    });
    expect(sent[0]!.url.pathname).toBe("/api/accounts");
  });

  it("starts a bulk profile import (ProfileImportJobCreateQuery) and reads its status", async () => {
    const job = (status: string) => ({
      status: status === "queued" ? 202 : 200,
      body: { data: { type: "profile-bulk-import-job", id: "J1", attributes: { status, created_at: "2026-01-01T00:00:00Z", total_count: 2, completed_count: status === "complete" ? 2 : 0, failed_count: 0, completed_at: null, expires_at: null, started_at: null }, links: { self: "x" } } },
    });
    const { sent, fetch } = scripted([job("queued"), job("complete")]);
    const { client: klaviyo } = client(fetch);
    const created = await klaviyo.createProfileImportJob([{ email: "a@example.com" }, { email: "b@example.com", properties: { x: 1 } }], { listIds: ["LsA"] });
    expect(sent[0]!.body).toEqual({
      data: {
        type: "profile-bulk-import-job",
        attributes: {
          profiles: {
            data: [
              { type: "profile", attributes: { email: "a@example.com" } },
              { type: "profile", attributes: { email: "b@example.com", properties: { x: 1 } } },
            ],
          },
        },
        relationships: { lists: { data: [{ type: "list", id: "LsA" }] } },
      },
    });
    expect(created).toMatchObject({ id: "J1", status: "queued", totalCount: 2 });
    expect(await klaviyo.getProfileImportJob("J1")).toMatchObject({ status: "complete", completedCount: 2 });
    expect(sent[1]!.url.pathname).toBe("/api/profile-bulk-import-jobs/J1");
    await expect(klaviyo.createProfileImportJob([])).rejects.toBeInstanceOf(RangeError);
    await expect(klaviyo.createProfileImportJob(Array.from({ length: 10_001 }, () => ({ email: "a@example.com" })))).rejects.toBeInstanceOf(RangeError);
  });

  it("groups bulk events per profile and drops a repeated unique_id for the same profile and metric", async () => {
    const { sent, fetch } = scripted([{ status: 202 }]);
    const event = (email: string, metric: string, uniqueId: string) => ({ metric, profile: { email }, properties: { n: uniqueId }, unique_id: uniqueId });
    const result = await client(fetch).client.createEventBulkJob(
      [event("a@example.com", "Deal Won", "1"), event("A@Example.com", "Deal Won", "1"), event("a@example.com", "Deal Lost", "1"), event("b@example.com", "Deal Won", "1")],
      { backfill: true },
    );
    expect(result).toEqual({ sent: 3, duplicatesDropped: 1 });
    const groups = (sent[0]!.body as { data: { type: string; attributes: { "events-bulk-create": { data: { attributes: Record<string, unknown> }[] } } } }).data;
    expect(groups.type).toBe("event-bulk-create-job");
    expect(groups.attributes["events-bulk-create"].data.map((group) => group.attributes)).toEqual([
      {
        profile: { data: { type: "profile", attributes: { email: "a@example.com" } } },
        events: {
          data: [
            { type: "event", attributes: { properties: { n: "1" }, metric: { data: { type: "metric", attributes: { name: "Deal Won" } } }, unique_id: "1" } },
            { type: "event", attributes: { properties: { n: "1" }, metric: { data: { type: "metric", attributes: { name: "Deal Lost" } } }, unique_id: "1" } },
          ],
        },
        backfill: true,
      },
      {
        profile: { data: { type: "profile", attributes: { email: "b@example.com" } } },
        events: { data: [{ type: "event", attributes: { properties: { n: "1" }, metric: { data: { type: "metric", attributes: { name: "Deal Won" } } }, unique_id: "1" } }] },
        backfill: true,
      },
    ]);
    await expect(client(fetch).client.createEventBulkJob([])).rejects.toBeInstanceOf(RangeError);
  });
});

describe("rate limits, retries and failures", () => {
  it("takes a token from the shared limiter for the operation before every request", async () => {
    const { fetch } = scripted([{ status: 202 }]);
    const { client: klaviyo, acquired } = client(fetch);
    await klaviyo.createEvent({ metric: "M", profile: { email: "a@example.com" }, properties: {} });
    expect(acquired).toEqual([{ key: "klaviyo:acc-1:create_event", limits: bucketLimits(OPERATIONS.createEvent) }]);
  });

  it("on 429 pauses the shared bucket for Retry-After and retries in place", async () => {
    const throttled = { status: 429, body: { errors: [{ id: "e", status: 429, code: "throttled", title: "Request was throttled.", detail: "x" }] }, headers: { "retry-after": "3" } };
    const { fetch } = scripted([throttled, { status: 202 }]);
    const { client: klaviyo, paused, acquired } = client(fetch);
    await klaviyo.createEvent({ metric: "M", profile: { email: "a@example.com" }, properties: {} });
    expect(paused).toEqual([{ key: "klaviyo:acc-1:create_event", limits: bucketLimits(OPERATIONS.createEvent), seconds: 3 }]);
    expect(acquired).toHaveLength(2);
    expect(klaviyo.calls).toBe(2);
  });

  it("gives up after the bounded number of 429 retries, and at once for a long Retry-After", async () => {
    const throttled = (seconds: string) => ({ status: 429, headers: { "retry-after": seconds } });
    const repeated = scripted(() => throttled("1"));
    const first = client(repeated.fetch, { maxRateLimitRetries: 2 });
    await expect(first.client.createEvent({ metric: "M", profile: { email: "a@example.com" }, properties: {} })).rejects.toBeInstanceOf(KlaviyoRateLimitError);
    expect(first.client.calls).toBe(3);
    const long = scripted([throttled("120")]);
    const second = client(long.fetch);
    await expect(second.client.createEvent({ metric: "M", profile: { email: "a@example.com" }, properties: {} })).rejects.toMatchObject({ retryAfterSeconds: 120 });
    expect(second.client.calls).toBe(1);
    expect(second.paused[0]!.seconds).toBe(120);
  });

  it("retries a server error in place a bounded number of times, then hands it to the job's backoff", async () => {
    const maintenance = { status: 503, body: "<html>maintenance</html>", headers: { "content-type": "text/html" } };
    const { fetch } = scripted([maintenance, maintenance, maintenance]);
    const { client: klaviyo } = client(fetch, { maxTransientRetries: 2 });
    await expect(klaviyo.getLists()).rejects.toMatchObject({ kind: "server_error", retryable: true, status: 503 });
    expect(klaviyo.calls).toBe(3);
  });

  it("gets past one server error without failing the call", async () => {
    const { fetch } = scripted([{ status: 500 }, { status: 200, body: { data: [], links: {} } }]);
    const { client: klaviyo } = client(fetch);
    await expect(klaviyo.getLists()).resolves.toEqual([]);
    expect(klaviyo.calls).toBe(2);
  });

  it("times out a request that does not answer", async () => {
    const { fetch } = scripted(["hang"]);
    const started = Date.now();
    await expect(client(fetch, { timeoutMs: 50, maxTransientRetries: 0 }).client.getLists()).rejects.toMatchObject({ kind: "timeout", retryable: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("counts writes that timed out (Klaviyo may still apply them), and not reads", async () => {
    const { fetch } = scripted(["hang", { status: 202 }, "hang", "hang"]);
    const { client: klaviyo } = client(fetch, { timeoutMs: 50, maxTransientRetries: 1 });
    await klaviyo.createEvent({ metric: "Deal Won", profile: { email: "a@example.com" }, properties: {}, unique_id: "u1" });
    expect(klaviyo.unansweredWrites).toBe(1);
    await expect(klaviyo.getLists()).rejects.toMatchObject({ kind: "timeout" });
    expect(klaviyo.unansweredWrites).toBe(1);
  });

  it("maps a network failure", async () => {
    const { fetch } = scripted([new TypeError("fetch failed", { cause: { code: "ECONNRESET" } })]);
    await expect(client(fetch, { maxTransientRetries: 0 }).client.getLists()).rejects.toMatchObject({ kind: "network", retryable: true });
  });

  it("refuses an answer in an unexpected shape instead of guessing", async () => {
    const { fetch } = scripted([{ status: 200, body: { data: { type: "profile" } } }, { status: 200, body: "not json" }]);
    const { client: klaviyo } = client(fetch);
    await expect(klaviyo.upsertProfile({ email: "a@example.com" })).rejects.toMatchObject({ kind: "unexpected_response", retryable: false });
    await expect(klaviyo.getLists()).rejects.toMatchObject({ kind: "unexpected_response" });
  });

  it("never puts the key in an error message", async () => {
    const replies: Reply[] = [{ status: 401 }, { status: 403, body: { errors: [{ id: "e", code: "permission_denied", title: "t", detail: "d" }] } }, { status: 500 }, new TypeError("fetch failed")];
    for (const reply of replies) {
      const { fetch } = scripted([reply]);
      const error = await client(fetch)
        .client.getAccount()
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(KlaviyoError);
      expect(String((error as Error).message)).not.toContain(API_KEY);
      expect(JSON.stringify(error)).not.toContain(API_KEY);
    }
  });

  it("refuses an empty key or limiter id", () => {
    expect(() => new KlaviyoClient({ apiKey: " ", limiterId: "a", baseUrl: BASE, revision: "2026-07-15" })).toThrow(TypeError);
    expect(() => new KlaviyoClient({ apiKey: API_KEY, limiterId: "", baseUrl: BASE, revision: "2026-07-15" })).toThrow(TypeError);
  });
});

describe("bucket limits", () => {
  // Replay a greedy caller against the buckets and count calls in every window Klaviyo could use.
  function maxInWindow(operation: (typeof OPERATIONS)[keyof typeof OPERATIONS], windowMs: number, durationMs: number): number {
    const buckets = bucketLimits(operation).map((limit) => ({ ...limit, tokens: limit.burst }));
    const granted: number[] = [];
    for (let t = 0; t < durationMs; t++) {
      for (const bucket of buckets) bucket.tokens = Math.min(bucket.burst, bucket.tokens + bucket.ratePerSecond / 1000);
      while (buckets.every((bucket) => bucket.tokens >= 1)) {
        for (const bucket of buckets) bucket.tokens -= 1;
        granted.push(t);
      }
    }
    let max = 0;
    for (let start = 0, end = 0; start < granted.length; start++) {
      while (end < granted.length && granted[end]! < granted[start]! + windowMs) end++;
      max = Math.max(max, end - start);
    }
    return max;
  }

  it.each(Object.values(OPERATIONS).map((operation) => [operation.id, operation] as const))(
    "%s: a greedy caller never exceeds the burst or steady window",
    (_id, operation) => {
      expect(maxInWindow(operation, 1000, 5000)).toBeLessThanOrEqual(operation.burstPerSecond);
      expect(maxInWindow(operation, 60_000, 180_000)).toBeLessThanOrEqual(operation.steadyPerMinute);
    },
  );
});
