// The Klaviyo simulator refuses what Klaviyo refuses and keeps state the way Klaviyo does; tested
// with plain HTTP requests so that nothing of the client is involved.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startKlaviyoSimulator, type KlaviyoSimulator, type KlaviyoSimulatorOptions } from "@/tests/simulators/klaviyo";
import { FixedWindowLimiter } from "@/tests/simulators/klaviyo/rate-limits";

const KEY = "pk_sim_full_access_0001";
const NO_EVENTS_KEY = "pk_sim_no_events_write_0002";
let sim: KlaviyoSimulator;

async function start(options: KlaviyoSimulatorOptions = {}) {
  sim = await startKlaviyoSimulator({ jobDelayMs: 30, ...options });
  sim.addKey(KEY);
  sim.addKey(NO_EVENTS_KEY, { scopes: ["profiles:read", "profiles:write", "lists:read", "lists:write", "accounts:read", "events:read", "metrics:read"] });
}

beforeEach(async () => start());
afterEach(async () => sim.close());

type ErrorObject = { id: string; status: number; code: string; title: string; detail: string; source: Record<string, string>; meta: Record<string, unknown> };
type Resource = { type: string; id: string; attributes: Record<string, unknown>; relationships: Record<string, { data: unknown }> };
/** A response body, read loosely: `data` is one resource or a list, depending on the endpoint. */
type Body = { errors: ErrorObject[]; data: Resource & Resource[]; links: { next?: string }; included?: unknown[] };

type CallOptions = { key?: string | null; body?: unknown; headers?: Record<string, string>; query?: Record<string, string> };

async function call(method: string, path: string, options: CallOptions = {}) {
  const url = new URL(path, sim.url);
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
  const headers: Record<string, string> = { revision: "2026-07-15", accept: "application/vnd.api+json", ...options.headers };
  if (options.key !== null) headers.authorization = `Klaviyo-API-Key ${options.key ?? KEY}`;
  if (options.body !== undefined) headers["content-type"] ??= "application/vnd.api+json";
  const response = await fetch(url, { method, headers, body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? (JSON.parse(text) as Body) : undefined };
}

const profileBody = (attributes: Record<string, unknown>) => ({ data: { type: "profile", attributes } });
const eventBody = (attributes: Record<string, unknown> = {}, profile: Record<string, unknown> = { email: "jane@example.com" }) => ({
  data: {
    type: "event",
    attributes: {
      properties: { deal_name: "X" },
      metric: { data: { type: "metric", attributes: { name: "Deal Won" } } },
      profile: { data: { type: "profile", attributes: profile } },
      ...attributes,
    },
  },
});

describe("headers", () => {
  it("401 not_authenticated without a key, with a malformed header, or with an unknown key", async () => {
    for (const options of [{ key: null }, { key: null, headers: { authorization: `Bearer ${KEY}` } }, { key: "pk_unknown_key_000" }]) {
      const response = await call("GET", "/api/accounts", options);
      expect(response.status).toBe(401);
      expect(response.json!.errors[0]).toMatchObject({ status: 401, code: "not_authenticated" });
    }
    // An unknown key is a well-formed request; a missing or non-Klaviyo Authorization header is not.
    expect(sim.requests.map((request) => request.valid)).toEqual([false, false, true]);
  });

  it("400 on a missing or malformed revision", async () => {
    for (const revision of [undefined, "2026-13-45", "latest", "2031-01-15"]) {
      const headers: Record<string, string> = revision === undefined ? {} : { revision };
      const url = new URL("/api/accounts", sim.url);
      const response = await fetch(url, { headers: { authorization: `Klaviyo-API-Key ${KEY}`, ...headers } });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { errors: { source: unknown }[] }).errors[0]!.source).toEqual({ parameter: "revision" });
    }
    expect(sim.invalidRequests()).toHaveLength(4);
  });

  it("415 on a body that is not JSON:API / JSON", async () => {
    const response = await call("POST", "/api/profile-import", { body: profileBody({ email: "a@example.com" }), headers: { "content-type": "text/plain" } });
    expect(response.status).toBe(415);
    expect(sim.requests[0]!.valid).toBe(false);
    expect((await call("POST", "/api/profile-import", { body: profileBody({ email: "a@example.com" }), headers: { "content-type": "application/json" } })).status).toBe(201);
  });

  it("404 for a path Klaviyo does not have, 405 for a method it does not take", async () => {
    expect((await call("GET", "/api/profile-import/")).status).toBe(404);
    const wrongMethod = await call("PUT", "/api/events");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toContain("POST");
  });
});

describe("bodies are checked against the spec", () => {
  it("refuses a field the spec does not define (camelCase uniqueId) with Klaviyo's 400 shape and pointer", async () => {
    const response = await call("POST", "/api/events", { body: eventBody({ uniqueId: "x" }) });
    expect(response.status).toBe(400);
    expect(response.json!.errors[0]).toMatchObject({
      status: 400,
      code: "invalid",
      title: "Invalid input.",
      detail: "'uniqueId' is not a valid field for this resource.",
      source: { pointer: "/data/attributes/uniqueId" },
    });
    expect(typeof response.json!.errors[0]!.id).toBe("string");
    expect(sim.requests[0]).toMatchObject({ valid: false, operation: "create_event" });
    expect(sim.account.events).toHaveLength(0);
  });

  it("refuses a missing required field, a wrong type and a wrong resource type", async () => {
    const missing = await call("POST", "/api/events", { body: { data: { type: "event", attributes: { properties: {}, profile: eventBody().data.attributes.profile } } } });
    expect(missing.json!.errors[0]).toMatchObject({ source: { pointer: "/data/attributes/metric" }, detail: "'metric' is a required field." });
    const wrongType = await call("POST", "/api/profile-import", { body: profileBody({ email: 42 }) });
    expect(wrongType.json!.errors[0]!.source).toEqual({ pointer: "/data/attributes/email" });
    const wrongResource = await call("POST", "/api/profile-import", { body: { data: { type: "profiles", attributes: {} } } });
    expect(wrongResource.json!.errors[0]!.source).toEqual({ pointer: "/data/type" });
    const notJson = await call("POST", "/api/profile-import", { body: "{oops" });
    expect(notJson.status).toBe(400);
  });

  it("checks event rules beyond the schema: metric name length, time window, currency", async () => {
    const longName = eventBody({ metric: { data: { type: "metric", attributes: { name: "x".repeat(128) } } } });
    expect((await call("POST", "/api/events", { body: longName })).json!.errors[0]!.source.pointer).toBe("/data/attributes/metric/data/attributes/name");
    expect((await call("POST", "/api/events", { body: eventBody({ time: "1989-12-31T00:00:00Z" }) })).status).toBe(400);
    expect((await call("POST", "/api/events", { body: eventBody({ time: "not a time" }) })).status).toBe(400);
    expect((await call("POST", "/api/events", { body: eventBody({ value: 5, value_currency: "usd" }) })).status).toBe(400);
    expect((await call("POST", "/api/events", { body: eventBody({}, { first_name: "No identifier" }) })).status).toBe(400);
    expect(sim.account.events).toHaveLength(0);
  });
});

describe("query parameters are checked against the spec", () => {
  it("refuses unknown parameters, a page size out of range and filters the endpoint does not allow", async () => {
    expect((await call("GET", "/api/lists", { query: { "page[size]": "11" } })).status).toBe(400);
    expect((await call("GET", "/api/lists", { query: { limit: "5" } })).status).toBe(400);
    expect((await call("GET", "/api/lists", { query: { "fields[list]": "name,colour" } })).status).toBe(400);
    const any = await call("GET", "/api/events", { query: { filter: 'any(metric_id,["a","b"])' } });
    expect(any.json!.errors[0]).toMatchObject({ source: { parameter: "filter" }, detail: "'any' is not an allowed operator for 'metric_id'." });
    expect((await call("GET", "/api/events", { query: { filter: "equals(metric_id,abc)" } })).status).toBe(400);
    expect((await call("GET", "/api/events", { query: { filter: 'greater-than(datetime,"2026-01-01T00:00:00Z")' } })).status).toBe(400);
    expect((await call("GET", "/api/events", { query: { filter: 'equals(metric_id,"a"' } })).status).toBe(400);
    expect((await call("GET", "/api/metrics", { query: { "page[size]": "5" } })).status).toBe(400);
    expect(sim.invalidRequests()).toHaveLength(8);
    const ok = await call("GET", "/api/events", { query: { filter: 'equals(metric_id,"a"),greater-than(datetime,2026-01-01T00:00:00Z),has(profile)', sort: "-datetime", "page[size]": "1000" } });
    expect(ok.status).toBe(200);
  });
});

describe("profiles", () => {
  it("upsert by email: 201 for a new profile, 200 for an update; null clears, omitted keeps", async () => {
    const created = await call("POST", "/api/profile-import", { body: profileBody({ email: "Jane@Example.com", first_name: "Jane", organization: "Acme", properties: { crm_stage: "New" } }) });
    expect(created.status).toBe(201);
    expect(created.json!.data).toMatchObject({ type: "profile", id: expect.stringMatching(/^01[0-9A-Z]{24}$/), attributes: { email: "Jane@Example.com", first_name: "Jane" } });
    const updated = await call("POST", "/api/profile-import", { body: profileBody({ email: "jane@example.com", organization: null, properties: { crm_stage: "Won", deal_amount: 10 } }) });
    expect(updated.status).toBe(200);
    expect(updated.json!.data.id).toBe(created.json!.data.id);
    expect(sim.account.profiles.size).toBe(1);
    expect(sim.account.profileByEmail("jane@example.com")).toMatchObject({ first_name: "Jane", organization: null, properties: { crm_stage: "Won", deal_amount: 10 } });
  });

  it("409 duplicate_profile when the email and the phone belong to different profiles", async () => {
    const phoneOwner = await call("POST", "/api/profile-import", { body: profileBody({ email: "first@example.com", phone_number: "+14155552671" }) });
    const conflict = await call("POST", "/api/profile-import", { body: profileBody({ email: "second@example.com", phone_number: "+14155552671" }) });
    expect(conflict.status).toBe(409);
    expect(conflict.json!.errors[0]).toMatchObject({ status: 409, code: "duplicate_profile", meta: { duplicate_profile_id: phoneOwner.json!.data.id } });
    expect(sim.account.profiles.size).toBe(1);
  });

  it("an invalid phone next to an email is ignored with X-Klaviyo-Partial-Failure; alone it is a 400", async () => {
    const partial = await call("POST", "/api/profile-import", { body: profileBody({ email: "jane@example.com", phone_number: "555-1234" }) });
    expect(partial.status).toBe(201);
    expect(partial.headers.get("x-klaviyo-partial-failure")).toBe("phone_number");
    expect(sim.account.profileByEmail("jane@example.com")!.phone_number).toBeNull();
    const alone = await call("POST", "/api/profile-import", { body: profileBody({ phone_number: "555-1234" }) });
    expect(alone.status).toBe(400);
    expect(alone.json!.errors[0]).toMatchObject({
      detail: "Invalid phone number format (Example of a valid format: +12345678901)",
      source: { pointer: "/data/attributes/phone_number" },
    });
  });

  it("finds a profile by email, case-insensitively", async () => {
    await call("POST", "/api/profile-import", { body: profileBody({ email: "jane@example.com" }) });
    const found = await call("GET", "/api/profiles", { query: { filter: 'equals(email,"JANE@example.com")' } });
    expect(found.json!.data.map((profile) => profile.attributes.email)).toEqual(["jane@example.com"]);
  });
});

describe("lists", () => {
  it("pages lists 10 at a time with links.next", async () => {
    for (let index = 0; index < 23; index++) sim.account.createList(`List ${String(index).padStart(2, "0")}`);
    const names: string[] = [];
    let next: string | undefined = new URL("/api/lists", sim.url).toString();
    let pages = 0;
    while (next) {
      const response = await call("GET", next);
      names.push(...response.json!.data.map((list) => String(list.attributes.name)));
      next = response.json!.links.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(names).toHaveLength(23);
    expect(new Set(names).size).toBe(23);
  });

  it("adds and removes members (204), refusing unknown lists and profiles", async () => {
    const list = sim.account.createList("Won deals");
    const profile = await call("POST", "/api/profile-import", { body: profileBody({ email: "jane@example.com" }) });
    const members = { data: [{ type: "profile", id: profile.json!.data.id }] };
    expect((await call("POST", `/api/lists/${list.id}/relationships/profiles`, { body: members })).status).toBe(204);
    expect(sim.account.membersOf(list.id).map((member) => member.email)).toEqual(["jane@example.com"]);
    expect((await call("DELETE", `/api/lists/${list.id}/relationships/profiles`, { body: members })).status).toBe(204);
    expect(sim.account.membersOf(list.id)).toEqual([]);
    expect((await call("POST", "/api/lists/Nope12/relationships/profiles", { body: members })).status).toBe(404);
    expect((await call("POST", `/api/lists/${list.id}/relationships/profiles`, { body: { data: [{ type: "profile", id: "01NOPE" }] } })).status).toBe(404);
    const tooMany = { data: Array.from({ length: 1001 }, () => ({ type: "profile", id: profile.json!.data.id })) };
    expect((await call("POST", `/api/lists/${list.id}/relationships/profiles`, { body: tooMany })).status).toBe(400);
  });
});

describe("events and metrics", () => {
  it("202; the same unique_id for the same profile and metric is one event", async () => {
    const body = eventBody({ unique_id: "u-1", time: "2026-01-01T00:00:00Z", value: 10, value_currency: "USD" });
    expect((await call("POST", "/api/events", { body })).status).toBe(202);
    expect((await call("POST", "/api/events", { body })).status).toBe(202);
    expect(sim.account.eventsNamed("Deal Won")).toHaveLength(1);
    // Another metric or another profile with the same unique_id is another event.
    await call("POST", "/api/events", { body: eventBody({ unique_id: "u-1", metric: { data: { type: "metric", attributes: { name: "Deal Lost" } } } }) });
    await call("POST", "/api/events", { body: eventBody({ unique_id: "u-1" }, { email: "other@example.com" }) });
    expect(sim.account.events).toHaveLength(3);
  });

  it("without unique_id, one event per profile, metric and second", async () => {
    await call("POST", "/api/events", { body: eventBody({ time: "2026-01-01T00:00:00.100Z" }) });
    await call("POST", "/api/events", { body: eventBody({ time: "2026-01-01T00:00:00.900Z" }) });
    await call("POST", "/api/events", { body: eventBody({ time: "2026-01-01T00:00:01Z" }) });
    expect(sim.account.eventsNamed("Deal Won")).toHaveLength(2);
  });

  it("records the backfill flag and creates metrics from event names next to the built-in email metrics", async () => {
    await call("POST", "/api/events", { body: eventBody({ backfill: true }) });
    expect(sim.account.eventsNamed("Deal Won")[0]!.backfill).toBe(true);
    const metrics = await call("GET", "/api/metrics");
    const names = metrics.json!.data.map((metric) => metric.attributes.name);
    expect(names).toEqual(expect.arrayContaining(["Opened Email", "Clicked Email", "Received Email", "Deal Won"]));
    const klaviyoOnly = await call("GET", "/api/metrics", { query: { filter: 'equals(integration.name,"Klaviyo")' } });
    expect(klaviyoOnly.json!.data.map((metric) => metric.attributes.name)).not.toContain("Deal Won");
  });

  it("lists events by metric, profile and time, sorted, a page at a time", async () => {
    for (let index = 0; index < 5; index++) {
      sim.account.seedEvent({ metric: "Opened Email", email: "jane@example.com", datetime: new Date(Date.UTC(2026, 0, 1, 0, index)) });
    }
    sim.account.seedEvent({ metric: "Opened Email", email: "other@example.com", datetime: new Date(Date.UTC(2026, 0, 1, 0, 9)) });
    sim.account.seedEvent({ metric: "Clicked Email", email: "jane@example.com", datetime: new Date(Date.UTC(2026, 0, 1, 0, 9)) });
    const metric = sim.account.metricNamed("Opened Email");
    const profile = sim.account.profileByEmail("jane@example.com")!;
    const filter = `equals(metric_id,"${metric.id}"),equals(profile_id,"${profile.id}"),greater-than(datetime,2026-01-01T00:01:00Z)`;
    const first = await call("GET", "/api/events", { query: { filter, sort: "-datetime", "page[size]": "2", include: "profile" } });
    expect(first.json!.data.map((event) => event.attributes.datetime)).toEqual([
      "2026-01-01T00:04:00+00:00",
      "2026-01-01T00:03:00+00:00",
    ]);
    expect(first.json!.data[0]!.relationships.profile!.data).toEqual({ type: "profile", id: profile.id });
    expect(first.json!.included).toEqual([expect.objectContaining({ type: "profile", id: profile.id })]);
    const second = await call("GET", first.json!.links.next!);
    expect(second.json!.data.map((event) => event.attributes.datetime)).toEqual(["2026-01-01T00:02:00+00:00"]);
    expect(second.json!.links.next).toBeUndefined();
  });
});

describe("scopes", () => {
  it("a key without events:write gets 403 on creating events, with Klaviyo's error shape", async () => {
    const response = await call("POST", "/api/events", { key: NO_EVENTS_KEY, body: eventBody() });
    expect(response.status).toBe(403);
    expect(response.json!.errors[0]).toMatchObject({ status: 403, code: "permission_denied" });
    expect((await call("GET", "/api/lists", { key: NO_EVENTS_KEY })).status).toBe(200);
    expect(sim.account.events).toHaveLength(0);
  });
});

describe("rate limits", () => {
  it("429 with Retry-After and no RateLimit-* headers past the burst; other answers carry them", async () => {
    await sim.close();
    await start({ rateLimits: { get_accounts: { burstPerSecond: 2, steadyPerMinute: 100 } } });
    // Stay inside one second window.
    while (Date.now() % 1000 > 500) await new Promise((resolve) => setTimeout(resolve, 20));
    const answers = [await call("GET", "/api/accounts"), await call("GET", "/api/accounts"), await call("GET", "/api/accounts")];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(answers[0]!.headers.get("ratelimit-limit")).toBe("100");
    expect(answers[1]!.headers.get("ratelimit-remaining")).toBe("98");
    expect(Number(answers[1]!.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
    expect(answers[2]!.headers.get("retry-after")).toBe("1");
    expect(answers[2]!.headers.get("ratelimit-limit")).toBeNull();
    expect(answers[2]!.json!.errors[0]).toMatchObject({ status: 429, code: "throttled", title: "Request was throttled." });
  });

  it("the steady window: past it, Retry-After runs to the end of the minute", () => {
    const limiter = new FixedWindowLimiter();
    const limits = { burstPerSecond: 100, steadyPerMinute: 3 };
    const minute = Date.UTC(2026, 0, 1, 0, 0);
    expect([0, 1000, 2000].map((offset) => limiter.admit("a:get_lists", limits, minute + offset).allowed)).toEqual([true, true, true]);
    expect(limiter.admit("a:get_lists", limits, minute + 15_000)).toEqual({ allowed: false, retryAfterSeconds: 45 });
    expect(limiter.admit("b:get_lists", limits, minute + 15_000).allowed).toBe(true);
    expect(limiter.admit("a:get_lists", limits, minute + 60_000).allowed).toBe(true);
  });

  it("counts per endpoint and per account", async () => {
    await sim.close();
    await start({ rateLimits: { get_accounts: { burstPerSecond: 1, steadyPerMinute: 100 } } });
    const other = sim.createAccount("Other Store");
    sim.addKey("pk_sim_other_account_3", { account: other });
    while (Date.now() % 1000 > 500) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await call("GET", "/api/accounts")).status).toBe(200);
    expect((await call("GET", "/api/accounts", { key: "pk_sim_other_account_3" })).status).toBe(200);
    expect((await call("GET", "/api/lists")).status).toBe(200);
    expect((await call("GET", "/api/accounts")).status).toBe(429);
  });
});

describe("bulk jobs", () => {
  it("profile import: queued -> processing -> complete, profiles and list membership land at the end", async () => {
    const list = sim.account.createList("Imported");
    const body = {
      data: {
        type: "profile-bulk-import-job",
        attributes: { profiles: { data: [profileBody({ email: "a@example.com" }).data, profileBody({ email: "b@example.com", phone_number: "12" }).data, profileBody({ first_name: "no id" }).data] } },
        relationships: { lists: { data: [{ type: "list", id: list.id }] } },
      },
    };
    const created = await call("POST", "/api/profile-bulk-import-jobs", { body });
    expect(created.status).toBe(202);
    expect(created.json!.data.attributes).toMatchObject({ status: "queued", total_count: 3 });
    const jobPath = `/api/profile-bulk-import-jobs/${created.json!.data.id}`;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect((await call("GET", jobPath)).json!.data.attributes.status).toBe("processing");
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect((await call("GET", jobPath)).json!.data.attributes).toMatchObject({ status: "complete", completed_count: 2, failed_count: 1 });
    expect(sim.account.membersOf(list.id).map((profile) => profile.email).sort()).toEqual(["a@example.com", "b@example.com"]);
    expect((await call("GET", "/api/profile-bulk-import-jobs/01UNKNOWN")).status).toBe(404);
  });

  const bulkBody = (events: { email: string; metric: string; uniqueId: string }[], backfill?: boolean) => ({
    data: {
      type: "event-bulk-create-job",
      attributes: {
        "events-bulk-create": {
          data: events.map((event) => ({
            type: "event-bulk-create",
            attributes: {
              ...(backfill !== undefined && { backfill }),
              profile: { data: { type: "profile", attributes: { email: event.email } } },
              events: { data: [{ type: "event", attributes: { properties: {}, metric: { data: { type: "metric", attributes: { name: event.metric } } }, unique_id: event.uniqueId } }] },
            },
          })),
        },
      },
    },
  });

  it("event bulk create: 202, events processed shortly after, backfill recorded", async () => {
    const response = await call("POST", "/api/event-bulk-create-jobs", {
      body: bulkBody(
        [
          { email: "a@example.com", metric: "Deal Won", uniqueId: "1" },
          { email: "b@example.com", metric: "Deal Won", uniqueId: "1" },
        ],
        true,
      ),
    });
    expect(response.status).toBe(202);
    expect(sim.account.events).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sim.account.eventsNamed("Deal Won").map((event) => event.backfill)).toEqual([true, true]);
  });

  it("refuses a batch that repeats a unique_id for the same profile and metric, and processes none of it", async () => {
    const response = await call("POST", "/api/event-bulk-create-jobs", {
      body: bulkBody([
        { email: "a@example.com", metric: "Deal Won", uniqueId: "1" },
        { email: "b@example.com", metric: "Deal Won", uniqueId: "2" },
        { email: "A@example.com", metric: "Deal Won", uniqueId: "1" },
      ]),
    });
    expect(response.status).toBe(400);
    expect(response.json!.errors[0]!.detail).toContain("repeated for the same profile and metric");
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sim.account.events).toHaveLength(0);
  });
});

describe("fault injection", () => {
  it("fails the next N calls of an operation, then answers normally", async () => {
    sim.faults.failNext(2, { kind: "status", status: 500 }, { operation: "get_lists" });
    const statuses = [];
    for (let index = 0; index < 3; index++) statuses.push((await call("GET", "/api/lists")).status);
    expect(statuses).toEqual([500, 500, 200]);
    expect((await call("GET", "/api/accounts")).status).toBe(200);
    expect(sim.requests.map((request) => request.fault)).toEqual(["500", "500", null, null]);
  });

  it("an injected 429 looks like Klaviyo's (Retry-After, no RateLimit-* headers)", async () => {
    sim.faults.failNext(1, { kind: "status", status: 429, retryAfterSeconds: 4 });
    const response = await call("GET", "/api/lists");
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("4");
    expect(response.headers.get("ratelimit-limit")).toBeNull();
  });

  it("fails a seeded fraction of calls, the same ones on every run", async () => {
    const run = async () => {
      sim.faults.clear();
      sim.faults.failFraction(0.3, { kind: "status", status: 503 }, { seed: 42 });
      const statuses: number[] = [];
      for (let index = 0; index < 30; index++) statuses.push((await call("GET", "/api/lists")).status);
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    const failed = first.filter((status) => status === 503).length;
    expect(failed).toBeGreaterThan(3);
    expect(failed).toBeLessThan(18);
  });

  it("can apply a request and still answer with a failure (the caller cannot tell)", async () => {
    sim.faults.failNext(1, { kind: "status", status: 500 }, { afterApply: true });
    expect((await call("POST", "/api/events", { body: eventBody({ unique_id: "applied" }) })).status).toBe(500);
    expect(sim.account.events).toHaveLength(1);
  });

  it("answers with a Cloudflare HTML page, slowly, or not at all", async () => {
    sim.faults.failNext(1, { kind: "html403" });
    const blocked = await fetch(new URL("/api/lists", sim.url), { headers: { authorization: `Klaviyo-API-Key ${KEY}`, revision: "2026-07-15" } });
    expect(blocked.status).toBe(403);
    expect(blocked.headers.get("cf-mitigated")).toBe("challenge");
    expect(await blocked.text()).toContain("<html>");
    sim.faults.failNext(1, { kind: "slow", delayMs: 150 });
    const started = Date.now();
    expect((await call("GET", "/api/lists")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    sim.faults.failNext(1, { kind: "reset" });
    await expect(call("GET", "/api/lists")).rejects.toThrow();
  });

  it("keeps email consent as the spec describes it: subscribe and unsubscribe jobs, subscriptions only when asked for", async () => {
    const subscribe = (profiles: unknown[], extra: Record<string, unknown> = {}) =>
      call("POST", "/api/profile-subscription-bulk-create-jobs", {
        body: { data: { type: "profile-subscription-bulk-create-job", attributes: { custom_source: "Kommo CRM", profiles: { data: profiles }, ...extra } } },
      });
    const person = (email: string, marketing: Record<string, unknown> = { consent: "SUBSCRIBED" }) => ({ type: "profile", attributes: { email, subscriptions: { email: { marketing } } } });
    // Scopes are checked before the body: a key without subscriptions:write gets 403 even for an empty job.
    const noConsentKey = "pk_sim_no_subscriptions_0003";
    sim.addKey(noConsentKey, { scopes: ["profiles:write", "lists:write"] });
    expect((await call("POST", "/api/profile-subscription-bulk-create-jobs", { key: noConsentKey, body: { data: { type: "profile-subscription-bulk-create-job", attributes: { profiles: { data: [] } } } } })).status).toBe(403);
    expect((await subscribe([])).status).toBe(400);
    expect((await subscribe([person("a@example.com", { consent: "UNSUBSCRIBED" })])).status).toBe(400);
    expect((await subscribe([person("a@example.com", { consent: "SUBSCRIBED", consented_at: "2024-01-01T00:00:00Z" })])).status).toBe(400);
    expect((await subscribe([person("a@example.com")])).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const plain = await call("GET", "/api/profiles", { query: { filter: 'equals(email,"a@example.com")' } });
    expect(plain.json!.data[0]!.attributes.subscriptions).toBeUndefined();
    const withConsent = await call("GET", "/api/profiles", { query: { filter: 'equals(email,"a@example.com")', "additional-fields[profile]": "subscriptions" } });
    expect(withConsent.json!.data[0]!.attributes.subscriptions).toMatchObject({ email: { marketing: { consent: "SUBSCRIBED", can_receive_email_marketing: true, suppression: [] } } });
    // No list named: the profile is unsubscribed globally, with a suppression.
    const unsubscribed = await call("POST", "/api/profile-subscription-bulk-delete-jobs", {
      body: { data: { type: "profile-subscription-bulk-delete-job", attributes: { profiles: { data: [person("a@example.com", { consent: "UNSUBSCRIBED" })] } } } },
    });
    expect(unsubscribed.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await call("GET", "/api/profiles", { query: { filter: 'equals(email,"a@example.com")', "additional-fields[profile]": "subscriptions" } });
    expect(after.json!.data[0]!.attributes.subscriptions).toMatchObject({ email: { marketing: { consent: "UNSUBSCRIBED", can_receive_email_marketing: false, suppression: [{ reason: "UNSUBSCRIBE" }] } } });
  });
});
