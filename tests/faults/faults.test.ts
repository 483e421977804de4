// The fault suite (`npm run test:faults`): the production build of the app with real worker
// processes, against simulated Kommo and Klaviyo that fail in every way the product promises to
// survive. Each scenario moves deals through their pipelines while the fault happens and then
// counts: every event the changes must produce is in Klaviyo exactly once, and every profile shows
// its deal's final stage. The scenarios run in this order; the PostgreSQL restart comes last
// because it restarts the test server (the run's throwaway embedded cluster, or the machine's local one).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { databaseRestartedMidRun, restartableCluster } from "./database-restart";
import { FaultEnvironment } from "./environment";
import { CATEGORY_SIZES, sendForgedInputs, type ForgedInputsResult } from "./forged-inputs";
import { klaviyoServerErrors, klaviyoSlowerThanTimeout, klaviyoThrottlingStorm } from "./klaviyo-faults";
import { kommoThrottling, kommoTokensRejected } from "./kommo-faults";
import { expectNothingLostOrDuplicated, publishResults } from "./scenario";
import { workersKilledMidBatch, workersRacing } from "./worker-faults";

let env: FaultEnvironment;
let forged: ForgedInputsResult | undefined;

beforeAll(async () => {
  env = await FaultEnvironment.start(inject("databaseUrl"));
}, 180_000);

afterAll(async () => {
  const forgedTable = forged
    ? [
        "| forged or malformed input | sent | accepted (2xx/3xx) | server errors (5xx, no answer) | answers |",
        "|---|---|---|---|---|",
        ...forged.tallies.map((tally) => `| ${tally.category} | ${tally.sent} | ${tally.accepted} | ${tally.serverErrors} | ${JSON.stringify(tally.statuses)} |`),
      ].join("\n")
    : "";
  publishResults(forgedTable ? [forgedTable] : []);
  await env?.close();
}, 60_000);

describe("Klaviyo and Kommo failing while two workers sync", () => {
  beforeAll(() => env.startWorkers(2, { jobTimeoutSeconds: 45 }), 120_000);
  afterAll(() => env.stopWorkers(), 60_000);

  it("a Klaviyo 429 storm: every event once, and Retry-After honoured (no storm of our own)", async () => {
    const run = await klaviyoThrottlingStorm(env);
    expectNothingLostOrDuplicated(run);
    // Honouring Retry-After (1 s) per endpoint and account keeps the calls during the storm to a
    // handful per second; a client retrying at once would send hundreds per second.
    expect(run.storm.endedAt, "the storm ended before the deals were synced").toBeGreaterThan(0);
    const stormSeconds = (run.storm.endedAt - run.storm.startedAt) / 1000;
    expect(run.duringStorm.length / stormSeconds, `${run.duringStorm.length} calls in ${stormSeconds} s`).toBeLessThan(30);
  }, 240_000);

  it("Klaviyo 5xx, 500s after applying the call, and dropped connections", async () => {
    const run = await klaviyoServerErrors(env);
    expectNothingLostOrDuplicated(run);
    expect(env.sims.klaviyo.requests.some((request) => request.fault !== null)).toBe(true);
  }, 240_000);

  it("Klaviyo answering after the client's 20 s timeout", async () => {
    const run = await klaviyoSlowerThanTimeout(env);
    expectNothingLostOrDuplicated(run);
    expect(env.sims.klaviyo.requests.filter((request) => request.fault === "slow")).toHaveLength(2);
  }, 300_000);

  it("Kommo refusing the access token mid-run, once right after a refresh: confirmed, refreshed, nothing lost", async () => {
    const run = await kommoTokensRejected(env);
    expectNothingLostOrDuplicated(run);
    expect(run.refreshes).toBeGreaterThan(0);
    // Every account met a 401 right after a refresh: the app confirmed its access and carried on.
    expect(run.refusedAfterRefresh).toBe(run.accounts);
  }, 240_000);

  it("Kommo answering 429", async () => {
    const run = await kommoThrottling(env);
    expectNothingLostOrDuplicated(run);
    expect(run.throttled).toBeGreaterThan(0);
  }, 240_000);
});

describe("workers", () => {
  afterAll(() => env.stopWorkers(), 60_000);

  it("two workers killed with SIGKILL mid-batch and one restarted: every job is run again", async () => {
    const run = await workersKilledMidBatch(env);
    expectNothingLostOrDuplicated(run);
    expect(run.kill.done).toBe(true);
    await env.stopWorkers();
  }, 300_000);

  it("three workers racing for the same deals: one sync of a deal at a time, in order", async () => {
    const run = await workersRacing(env);
    expectNothingLostOrDuplicated(run);
    expect(run.overlappingRuns).toBe(0);
    await env.stopWorkers();
  }, 300_000);
});

describe("hostile input", () => {
  it("10,000 malformed or forged requests: none accepted, no server error, nothing changed", async () => {
    forged = await sendForgedInputs(env);
    const total = Object.values(CATEGORY_SIZES).reduce((sum, count) => sum + count, 0);
    expect(total).toBe(10_000);
    expect(forged.tallies.reduce((sum, tally) => sum + tally.sent, 0)).toBe(total);
    for (const tally of forged.tallies) {
      expect({ category: tally.category, accepted: tally.accepted, serverErrors: tally.serverErrors }, tally.examples.join("\n")).toEqual({
        category: tally.category,
        accepted: 0,
        serverErrors: 0,
      });
    }
    // Nothing reached the database or the queue, and the accounts are as they were.
    const accountIds = forged.victims.map((tenant) => tenant.accountId);
    const [recorded] = await env.observer.query<{ events: string; actions: string; jobs: string; installed: string }>(
      `SELECT (SELECT count(*) FROM "InboundEvent" WHERE "accountId" = ANY($1::uuid[])) AS events,
              (SELECT count(*) FROM "DigitalPipelineAction" WHERE "accountId" = ANY($1::uuid[])) AS actions,
              (SELECT count(*) FROM pgboss.job WHERE name IN ('sync-lead', 'digital-pipeline-action') AND data->>'accountId' = ANY($2::text[])) AS jobs,
              (SELECT count(*) FROM "Account" WHERE "id" = ANY($1::uuid[]) AND "status" = 'installed' AND "klaviyoKeyHint" IS NOT NULL) AS installed`,
      [accountIds, accountIds],
    );
    expect(recorded).toEqual({ events: "0", actions: "0", jobs: "0", installed: "2" });
    for (const tenant of forged.victims) {
      const [row] = await env.observer.query<{ klaviyoKeyHint: string }>(`SELECT "klaviyoKeyHint" FROM "Account" WHERE "id" = $1`, [tenant.accountId]);
      expect(row!.klaviyoKeyHint).toContain(tenant.klaviyo.apiKey.slice(-4));
    }
  }, 300_000);
});

describe("the database", () => {
  const cluster = restartableCluster();
  afterAll(() => env.stopWorkers(), 60_000);

  it.skipIf(cluster === null)("PostgreSQL restarted mid-run: deliveries retried, jobs caught up, nothing lost", async () => {
    const run = await databaseRestartedMidRun(env, cluster!);
    for (const crash of run.crashes) console.warn(`worker ${crash.worker} exited (${crash.code}) during the database restart: ${crash.reason}`);
    expectNothingLostOrDuplicated(run);
    expect(run.restart.awaySeconds).toBeGreaterThan(0);
  }, 360_000);
});
