// `npm run bench`: the product's speed and cost against its targets and the naive baseline.
//
// Creates a fresh database (on a throwaway embedded PostgreSQL when no server answers), builds the
// web app if there is no build, starts the production web server and workers against the Kommo and
// Klaviyo simulators (loopback only, with API latency and the real rate limits), runs the measured
// phases, then the same workload through the naive synchronous baseline, prints the table and
// writes bench/RESULTS.md. Bounded in time and count; it stops by itself and leaves no process
// behind.
//
// Options: --latency=50 (ms per API answer) --duration=5 (s per rate) --tenants=100 --deals=10
// (per tenant) --workers=2 --concurrency=15 (jobs per worker) --no-baseline --quick (a smaller run)
// --profile (a V8 CPU profile of the web server and each worker, summarised in RESULTS.md)
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../tests/helpers/processes";
import { useTestDatabaseServer, type TestDatabaseServer } from "../tests/helpers/test-database-server";
import { activityPhase } from "./activity";
import { backfillPhase, type BackfillResult } from "./backfill";
import { callMarks, countCalls, nextMove } from "./changes";
import { digitalPipelinePhase } from "./digital-pipeline";
import { appUrl, killAll, newAppIdentity } from "./harness/app";
import { ensureBuild, snapshotBuild } from "./harness/build";
import { profilesByPid, readProfile } from "./harness/cpu-profile";
import { efficiencyFigures, readEfficiency, runSpeed, writeEfficiency } from "./efficiency";
import { createRunDatabase, migrate, type RunDatabase } from "./harness/database";
import { projectRoot } from "./harness/paths";
import { MemoryWatch } from "./harness/memory-watch";
import { hostStealMeter, megabytes, peakRssBytes } from "./harness/process-stats";
import { startSimulators, type Simulators } from "./harness/simulators";
import { distribution } from "./load";
import { ackPhase, burstPhase, changePhase, closedLoopCost, mergedCosts, type ClosedLoopCost } from "./phases";
import { consoleTable, resultsMarkdown, type BenchResults, type ProcessProfile, type ProductResults, type SystemResults } from "./report";
import { startBaseline, startProduct, type ProductSystem, type System } from "./systems";

const RUN_LIMIT_MS = 60 * 60_000;
const ACK_RATES = [50, 200, 500];
const CHANGE_RATES = [10, 100];
const BURST_LEADS = 20;
const BURST_SIZE = 5;
const DP_RATE = 20;
const BACKFILL_SIZES = [1_000, 10_000];
const BACKFILL_TIMEOUT_MS = 300_000;
/** Email events for the event -> note figure, spread over a little more than the default 60 s poll interval. */
const ACTIVITY_EVENTS = 30;
const ACTIVITY_SPREAD_MS = 70_000;
const ACTIVITY_TIMEOUT_MS = 150_000;

function parseOptions(argv: string[]) {
  const flag = (name: string) => argv.includes(`--${name}`);
  const number = (name: string, fallback: number) => {
    const raw = argv.find((arg) => arg.startsWith(`--${name}=`))?.split("=")[1];
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number`);
    return value;
  };
  const quick = flag("quick");
  return {
    latencyMs: number("latency", 50),
    durationSeconds: number("duration", quick ? 3 : 5),
    tenants: number("tenants", quick ? 20 : 100),
    dealsPerTenant: number("deals", quick ? 25 : 10),
    workers: number("workers", 2),
    concurrency: number("concurrency", 15),
    baseline: !flag("no-baseline"),
    quick,
    profile: flag("profile"),
    backfillSizes: quick ? [1_000] : BACKFILL_SIZES,
  };
}

/** Each process's profile (its whole life: start-up, the first syncs and every phase), by process name. */
function readProfiles(directory: string, names: Map<number, string>): ProcessProfile[] {
  return [...profilesByPid(directory)].map(([pid, file]) => ({ name: names.get(pid) ?? `process ${pid}`, summary: readProfile(file) }));
}

/** Requests per kind for the web server's warm cost per request, in rounds that alternate the kinds. */
const WEB_COST_REQUESTS = 2000;
const WEB_COST_ROUNDS = 4;

/**
 * The web server's CPU per request, back to back (4 in flight), for CRM webhooks and for the same
 * bodies at a malformed hook key, which the route answers 404 before reading the body or the
 * database: the second is what Next.js and Node's HTTP cost on their own. The kinds alternate in
 * rounds, so that the machine's speed drifting during the measurement weighs on both alike. Workers
 * are stopped by now; the webhooks' changes stay recorded and unapplied, as in the web-alone phases.
 */
async function webRequestCost(product: ProductSystem, sims: Simulators): Promise<ProductResults["webCost"]> {
  const perRound = WEB_COST_REQUESTS / WEB_COST_ROUNDS;
  const webhooks: ClosedLoopCost[] = [];
  const nextOnly: ClosedLoopCost[] = [];
  for (let round = 0; round < WEB_COST_ROUNDS; round++) {
    const moves = Array.from({ length: perRound }, (_, index) => {
      const target = product.targets[(round * perRound + index) % product.targets.length]!;
      return { url: target.tenant.hookUrl, body: nextMove(sims, target).body };
    });
    nextOnly.push(await closedLoopCost(product.web.pid, moves.map(({ url, body }) => ({ url: url.replace(/[^/]+$/, "not-a-hook-key"), body })), 404));
    webhooks.push(await closedLoopCost(product.web.pid, moves, 200));
  }
  return { webhook: mergedCosts(webhooks), nextOnly: mergedCosts(nextOnly) };
}

/** The product's memory per phase: every line logged starts a phase. */
const memory = new MemoryWatch();
const log = (line: string) => {
  memory.mark(line);
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
};

/**
 * The phases, in this order: the change latencies first (before the acknowledgement phases leave
 * thousands of changes in Kommo's events feed for the reconciliation to page through), then the
 * bursts, then the acknowledgement rates. Each phase drains before the next one starts.
 */
async function measure(system: System, sims: Simulators, durationMs: number): Promise<SystemResults & { timings: ProductResults["timings"] }> {
  const marks = callMarks(sims);
  const changes = [];
  const timings: ProductResults["timings"] = [];
  for (const rate of CHANGE_RATES) {
    log(`${system.label}: change -> event at ${rate}/s`);
    const change = await changePhase(system, sims, rate, durationMs);
    changes.push(change);
    // Read now: the phase has drained and the next one has not started.
    const timing = await system.syncTimings?.(change.startedAt);
    if (timing) timings.push({ rate, wait: distribution(timing.waitMs), sync: distribution(timing.syncMs) });
  }
  log(`${system.label}: bursts of ${BURST_SIZE} webhooks for one deal`);
  const bursts = await burstPhase(system, sims, BURST_LEADS, BURST_SIZE, system.targets.length - BURST_LEADS);
  const ack = [];
  for (const [index, rate] of ACK_RATES.entries()) {
    log(`${system.label}: webhook acknowledgement at ${rate}/s`);
    ack.push(await ackPhase(system, sims, rate, durationMs, index * 97));
  }
  const rssMb = Object.fromEntries(system.processes().map((process) => [process.name, megabytes(peakRssBytes(process.pid))]));
  return { ack, changes, bursts, rssMb, throttled: countCalls(sims, system.tenants, marks).throttled, timings };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const runSteal = hostStealMeter();
  const machine = {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model.trim() ?? "unknown",
    node: process.version,
    memoryGb: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()}`,
    loadBefore: os.loadavg()[0]!,
    loadAfter: 0,
    stolenShare: null as number | null,
  };
  const runDir = path.join(projectRoot, ".data", "bench", startedAt.toISOString().replace(/[:.]/g, "-"));
  const logDir = path.join(runDir, "logs");
  const profileDir = path.join(runDir, "profiles");
  mkdirSync(logDir, { recursive: true });
  log(`logs in ${path.relative(projectRoot, logDir)}`);

  let database: RunDatabase | undefined;
  let sims: Simulators | undefined;
  let server: TestDatabaseServer | undefined;
  const buildDirectory = path.join(runDir, "app");
  try {
    await ensureBuild(log);
    snapshotBuild(buildDirectory);
    // The tests' server: TEST_DATABASE_ADMIN_URL, 127.0.0.1:5432, or a throwaway embedded cluster.
    server = await useTestDatabaseServer();
    if (server.embeddedHome) log("no PostgreSQL at 127.0.0.1:5432: running on a throwaway embedded PostgreSQL");
    database = await createRunDatabase("kss_bench");
    await migrate(database.url);
    log(`database ${database.name} migrated`);

    const identity = newAppIdentity();
    const port = await freePort();
    sims = await startSimulators({ identity, appUrl: appUrl({ port }), latencyMs: options.latencyMs });
    const productMarks = callMarks(sims);
    const product = await startProduct({
      sims,
      port,
      identity,
      databaseUrl: database.url,
      buildDirectory,
      logDir,
      workers: options.workers,
      concurrency: options.concurrency,
      tenants: options.tenants,
      dealsPerTenant: options.dealsPerTenant,
      spareTenants: options.backfillSizes.length,
      profileDir: options.profile ? profileDir : undefined,
      memory,
      log,
    });
    log(`every deal synced once (${product.introduceSeconds.toFixed(0)} s)`);

    const measured = await measure(product, sims, options.durationSeconds * 1000);
    log(`product: Digital Pipeline hooks at ${DP_RATE}/s`);
    const digitalPipeline = await digitalPipelinePhase(product.context, product.targets, DP_RATE, options.durationSeconds * 1000, 0);
    await product.drained(240_000);
    const backfill: BackfillResult[] = [];
    for (const [index, deals] of options.backfillSizes.entries()) {
      log(`product: backfill of ${deals} deals`);
      backfill.push(await backfillPhase(product.context, product.spare[index]!, deals, BACKFILL_TIMEOUT_MS));
    }
    log(`product: Klaviyo email event -> Kommo note at the default poll interval (${ACTIVITY_EVENTS} events over ${ACTIVITY_SPREAD_MS / 1000} s)`);
    const activity = await activityPhase(sims, product.targets, { events: ACTIVITY_EVENTS, spreadMs: ACTIVITY_SPREAD_MS, timeoutMs: ACTIVITY_TIMEOUT_MS });
    const rssMb = Object.fromEntries(product.processes().map((process) => [process.name, megabytes(peakRssBytes(process.pid))]));
    // The web tier on its own, as when the workers run on other machines (README, "Scaling out"):
    // the workers stop, and what these webhooks record is left unapplied.
    await Promise.all(product.workers.map((worker) => worker.stop(30_000)));
    const ackWebAlone = [];
    for (const [index, rate] of ACK_RATES.entries()) {
      log(`product: webhook acknowledgement at ${rate}/s, web server alone`);
      ackWebAlone.push(await ackPhase(product, sims, rate, options.durationSeconds * 1000, 500 + index * 97, { drain: false }));
    }
    log(`product: CPU per request of the warm web server, webhooks against requests Next.js answers before the handler works`);
    const webCost = await webRequestCost(product, sims);
    const productResults: ProductResults = {
      ...measured,
      ackWebAlone,
      // The backfill tenants' calls count too.
      throttled: countCalls(sims, [...product.tenants, ...product.spare], productMarks).throttled,
      rssMb,
      backfill,
      activity,
      digitalPipeline,
      introduceSeconds: product.introduceSeconds,
      idleQueriesPerWorker: product.idleQueriesPerWorker,
      idleRssMb: product.idleRssMb,
      background: product.background,
      webCost,
    };
    const processNames = new Map(product.processes().map((process) => [process.pid, process.name]));
    await product.stop();
    productResults.memoryByPhase = memory.stop();
    const profiles = options.profile ? readProfiles(profileDir, processNames) : null;

    let baselineResults: SystemResults | null = null;
    if (options.baseline) {
      const baseline = await startBaseline({ sims, logDir, firstTag: 5001, tenants: options.tenants, dealsPerTenant: options.dealsPerTenant, log });
      const { timings: _none, ...results } = await measure(baseline, sims, options.durationSeconds * 1000);
      baselineResults = results;
      await baseline.stop();
    }

    machine.loadAfter = os.loadavg()[0]!;
    machine.stolenShare = runSteal();
    const results: BenchResults = {
      machine,
      profiled: options.profile,
      config: { latencyMs: options.latencyMs, durationSeconds: options.durationSeconds, tenants: options.tenants, dealsPerTenant: options.dealsPerTenant, workers: options.workers, concurrency: options.concurrency },
      startedAt,
      seconds: (Date.now() - startedAt.getTime()) / 1000,
      product: productResults,
      baseline: baselineResults,
    };
    const efficiencyFile = path.join(projectRoot, "bench", "efficiency.json");
    const efficiency = {
      current: { startedAt: startedAt.toISOString(), quick: options.quick, figures: efficiencyFigures(results), speed: runSpeed(results) },
      previous: readEfficiency(efficiencyFile),
    };
    writeFileSync(path.join(projectRoot, "bench", "RESULTS.md"), resultsMarkdown(results, { efficiency, profiles }));
    writeEfficiency(efficiencyFile, efficiency.current);
    writeFileSync(path.join(runDir, "results.json"), JSON.stringify(results, null, 2));
    console.log(`\n${consoleTable(results)}\n`);
    log(`written to bench/RESULTS.md (${Math.round(results.seconds)} s)`);
  } finally {
    await killAll();
    await sims?.close();
    await database?.drop().catch((error: unknown) => log(`could not drop ${database?.name}: ${String(error)}`));
    await server?.release();
    rmSync(buildDirectory, { recursive: true, force: true });
  }
}

// Whatever happens, the run ends: a watchdog for a run that hangs, and no process left on Ctrl-C.
const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${RUN_LIMIT_MS / 60_000} minutes; stopping`);
  void killAll().finally(() => process.exit(1));
}, RUN_LIMIT_MS);
watchdog.unref();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void killAll().finally(() => process.exit(130)));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
