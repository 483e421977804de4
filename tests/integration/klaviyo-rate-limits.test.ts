// Rate limits across workers: clients of one account share Postgres token buckets, so a 429's
// Retry-After holds every client of that account (no storm), and pacing by the spec's limits keeps
// them under Klaviyo's windows in the first place.
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { KlaviyoClient, OPERATIONS, bucketKey } from "@/lib/integrations/klaviyo";
import { startKlaviyoSimulator, type KlaviyoSimulator, type KlaviyoSimulatorOptions } from "@/tests/simulators/klaviyo";

const KEY = "pk_integration_limits_0001";
let sim: KlaviyoSimulator;

async function start(options: KlaviyoSimulatorOptions = {}) {
  sim = await startKlaviyoSimulator(options);
  sim.addKey(KEY);
}

afterEach(async () => {
  expect(sim.invalidRequests()).toEqual([]);
  await sim.close();
});

afterAll(async () => {
  await db().$disconnect();
});

const worker = (limiterId: string) => new KlaviyoClient({ apiKey: KEY, limiterId, baseUrl: sim.url });
const event = (index: number) => ({ metric: "Stage Changed", profile: { email: `c${index}@example.com` }, properties: {}, unique_id: `u-${index}` });

async function waitFor(condition: () => boolean | Promise<boolean>) {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** The 429's pause is in Postgres: every window of the account's create_event bucket is in debt. */
async function pauseRecorded(accountId: string): Promise<boolean> {
  const windows = await db().rateLimitBucket.findMany({ where: { key: { startsWith: bucketKey(accountId, OPERATIONS.createEvent) } } });
  return windows.length > 0 && windows.every((window) => window.tokens < 0);
}

describe("Klaviyo rate limits, shared by every worker of an account", () => {
  it("a 429's Retry-After holds the other worker too: no request until it has passed, and no second 429", async () => {
    await start();
    const accountId = randomUUID();
    sim.faults.failNext(1, { kind: "status", status: 429, retryAfterSeconds: 2 }, { operation: "create_event" });

    const first = worker(accountId).createEvent(event(0));
    await waitFor(() => pauseRecorded(accountId));
    const other = worker(accountId);
    const otherStarted = Date.now();
    await Promise.all([first, ...[1, 2, 3, 4, 5].map((index) => other.createEvent(event(index)))]);

    const requests = sim.requestsFor("create_event");
    const throttled = requests.filter((request) => request.status === 429);
    expect(throttled).toHaveLength(1);
    expect(requests).toHaveLength(7); // the throttled call, its retry, the other worker's five
    const resumeAt = throttled[0]!.at + 2000;
    for (const request of requests.slice(1)) expect(request.at).toBeGreaterThanOrEqual(resumeAt - 100);
    expect(Date.now() - otherStarted).toBeGreaterThanOrEqual(1500);
    expect(other.calls).toBe(5);
    expect(sim.account.eventsNamed("Stage Changed")).toHaveLength(6);
  });

  it("another account's worker is not held by that pause", async () => {
    await start();
    sim.faults.failNext(1, { kind: "status", status: 429, retryAfterSeconds: 2 }, { operation: "create_event" });
    const heldAccount = randomUUID();
    const held = worker(heldAccount).createEvent(event(0));
    await waitFor(() => pauseRecorded(heldAccount));
    const started = Date.now();
    await worker(randomUUID()).createEvent(event(1));
    expect(Date.now() - started).toBeLessThan(1000);
    await held;
  });

  it("when Klaviyo's own window is full, the client waits Retry-After and gets through", async () => {
    await start({ rateLimits: { get_lists: { burstPerSecond: 2, steadyPerMinute: 100 } } });
    sim.account.createList("Only list");
    const klaviyo = worker(randomUUID());
    // Fire early in a second, so that all four land in the same one-second window.
    await waitFor(() => Date.now() % 1000 < 300);
    const results = await Promise.all(Array.from({ length: 4 }, () => klaviyo.getLists()));
    expect(results.every((lists) => lists.length === 1)).toBe(true);
    const requests = sim.requestsFor("get_lists");
    const throttled = requests.filter((request) => request.status === 429);
    // Only the calls already on the wire when the window filled are refused (4 sent, 2 allowed)...
    expect(throttled).toHaveLength(2);
    // ...and the retries wait out Retry-After (1 s) instead of hammering.
    const retries = requests.filter((request) => request.status === 200 && request.at > throttled[0]!.at);
    expect(retries).toHaveLength(2);
    for (const request of retries) expect(request.at).toBeGreaterThanOrEqual(throttled[0]!.at + 900);
    expect(requests).toHaveLength(6);
  });

  it("two workers paced by the spec's limits never meet a 429 (list calls: 10/s, 150/m)", async () => {
    await start();
    const accountId = randomUUID();
    const list = sim.account.createList("Negotiation");
    const [a, b] = [worker(accountId), worker(accountId)];
    const { profileId } = await a.upsertProfile({ email: "jane@example.com" });
    const started = Date.now();
    await Promise.all(Array.from({ length: 16 }, (_, index) => (index % 2 ? a : b).addProfilesToList(list.id, [profileId])));
    const calls = sim.requestsFor("add_profiles_to_list");
    expect(calls).toHaveLength(16);
    expect(calls.every((request) => request.status === 204)).toBe(true);
    // Pacing is visible: 16 calls at these limits cannot all go in the first second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  });
});
