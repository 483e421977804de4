// The two systems the benchmark drives with the same workload: the product (production web server
// and workers on a fresh database) and the naive synchronous baseline. Each comes with its tenants,
// their deals (in an order that spreads consecutive changes over every tenant), a way to wait
// until it has done all it was asked, and its processes for the memory figures.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { cleanEnvironment, freePort } from "../tests/helpers/processes";
import type { Target } from "./changes";
import { createdWebhook, createTenants, seedDeal, seedSimTenant, tenantSettings, type HarnessContext, type SimTenant, type Tenant } from "./harness/accounts";
import { appUrl, spawnLogged, startWeb, startWorker, type AppConfig, type AppIdentity, type AppProcess } from "./harness/app";
import { Observer } from "./harness/observer";
import { profilerNodeArgs } from "./harness/cpu-profile";
import type { MemoryWatch } from "./harness/memory-watch";
import { cpuSeconds, megabytes, rssBytes } from "./harness/process-stats";
import type { Simulators } from "./harness/simulators";
import { deliverLikeKommo } from "./harness/webhooks";
import type { BaselineConfig } from "./naive-baseline";

export type System = {
  label: string;
  tenants: SimTenant[];
  targets: Target[];
  /** Resolves when everything sent so far has reached Klaviyo (ms it took), or null on timeout. */
  drained: (timeoutMs: number) => Promise<number | null>;
  processes: () => AppProcess[];
  /** Where the time of the changes received since `since` went (the product's database knows). */
  syncTimings?: (since: Date) => Promise<{ waitMs: number[]; syncMs: number[] }>;
  stop: () => Promise<void>;
};

export type Sizing = { tenants: number; dealsPerTenant: number };

/** Deal d of tenant t at position d * tenants + t: consecutive changes go to different tenants. */
function interleave(tenants: SimTenant[], deals: Map<SimTenant, ReturnType<typeof seedDeal>[]>): Target[] {
  const targets: Target[] = [];
  const most = Math.max(...tenants.map((tenant) => deals.get(tenant)!.length));
  for (let index = 0; index < most; index++) {
    for (const tenant of tenants) {
      const deal = deals.get(tenant)![index];
      if (deal) targets.push({ tenant, deal });
    }
  }
  return targets;
}

/**
 * Kommo tells us about every deal once ("add" webhooks), a few at a time and retried like Kommo
 * retries, before anything is measured. Resolves to a complaint when a delivery never succeeded.
 */
async function introduceDeals(sims: Simulators, targets: Target[], parallel = 8): Promise<string | null> {
  const failures = new Map<string, number>();
  let next = 0;
  const lane = async () => {
    while (next < targets.length) {
      const { tenant, deal } = targets[next++]!;
      const result = await deliverLikeKommo(tenant.hookUrl, createdWebhook({ sims }, tenant, deal), 60_000);
      const answer = `${result.status}${result.error ? ` ${result.error}` : ""}`;
      if (result.status !== 200) failures.set(answer, (failures.get(answer) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  if (failures.size === 0) return null;
  return `"add" webhooks refused for a minute: ${[...failures].map(([answer, count]) => `${answer} x${count}`).join(", ")}`;
}

export type ProductOptions = Sizing & {
  sims: Simulators;
  /** The web server's port (the simulators already know it as the redirect URI's). */
  port: number;
  identity: AppIdentity;
  databaseUrl: string;
  buildDirectory: string;
  logDir: string;
  workers: number;
  concurrency: number;
  /** Extra tenants without deals, for the backfill figures. */
  spareTenants: number;
  /** Write a V8 CPU profile of the web server and of each worker into this folder (--profile). */
  profileDir?: string;
  /** Samples the web server's and the workers' memory once they started. */
  memory?: MemoryWatch;
  log: (line: string) => void;
};

export type ProductSystem = System & {
  context: HarnessContext;
  web: AppProcess;
  workers: AppProcess[];
  /** Tenants without deals, for the backfill figures. */
  spare: Tenant[];
  observer: Observer;
  accountIds: string[];
  /** How long the first sync of every deal took. */
  introduceSeconds: number;
  /** Database statements per second per worker while nothing is installed and nothing happens. */
  idleQueriesPerWorker: number;
  /** Resident memory of each process (MB) at that time: started, nothing installed yet. */
  idleRssMb: Record<string, number | null>;
  /** What the installed accounts cost while no deal changes (email-activity polls, reconciliation, the due check). */
  background: Background;
};

export type Background = {
  seconds: number;
  /** CPU per second of wall time, all workers together and the web server (ms). */
  workersCpuMsPerSecond: number | null;
  webCpuMsPerSecond: number | null;
  statementsPerSecond: number;
  /** Jobs that ran in the window (all or part of it), by queue. */
  jobs: Record<string, number>;
};

/**
 * The idle workers are watched before anything is installed, for IDLE_WINDOW_MS after IDLE_SETTLE_MS:
 * a backend publishes its statement counts when it has been idle for a while (up to 10 s later), so
 * the start-up's own statements must be published before the window opens.
 */
const IDLE_SETTLE_MS = 12_000;
const IDLE_WINDOW_MS = 30_000;
/** The installed accounts' background work is watched this long once every deal is synced. */
const BACKGROUND_WINDOW_MS = 20_000;

export async function startProduct(options: ProductOptions): Promise<ProductSystem> {
  const { sims, log } = options;
  const config: AppConfig = {
    identity: options.identity,
    databaseUrl: options.databaseUrl,
    port: options.port,
    kommoUrl: sims.kommo.url,
    klaviyoUrl: sims.klaviyo.url,
    logDir: options.logDir,
    buildDirectory: options.buildDirectory,
    env: { WORKER_CONCURRENCY: String(options.concurrency) },
    nodeArgs: options.profileDir ? profilerNodeArgs(options.profileDir) : undefined,
  };
  const observer = new Observer(options.databaseUrl);
  const web = await startWeb(config);
  const workers = await Promise.all(Array.from({ length: options.workers }, (_, index) => startWorker(config, `worker-${index + 1}`)));
  const context: HarnessContext = { sims, identity: options.identity, appUrl: appUrl(config), observer };
  options.memory?.watch([web, ...workers]);
  log(`app up; watching the idle workers for ${(IDLE_SETTLE_MS + IDLE_WINDOW_MS) / 1000} s`);
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  const idleQueriesPerWorker = (await observer.transactionsPerSecond(IDLE_WINDOW_MS)) / Math.max(1, options.workers);
  const idleRssMb = Object.fromEntries([web, ...workers].map((process) => [process.name, megabytes(rssBytes(process.pid))]));
  log(`idle: ${idleQueriesPerWorker.toFixed(2)} database statements per second per worker`);
  log(`app up (web + ${options.workers} workers x ${options.concurrency} jobs); installing ${options.tenants + options.spareTenants} tenants`);

  const all = await createTenants(context, options.tenants + options.spareTenants, 1);
  const tenants = all.slice(0, options.tenants);
  const spare = all.slice(options.tenants);
  const deals = new Map(tenants.map((tenant) => [tenant as SimTenant, Array.from({ length: options.dealsPerTenant }, (_, index) => seedDeal({ sims }, tenant, index))]));
  const targets = interleave(tenants, deals);
  const accountIds = tenants.map((tenant) => tenant.accountId);
  const drained = (timeoutMs: number) => observer.drained(accountIds, timeoutMs);

  log(`introducing ${targets.length} deals`);
  const introduced = Date.now();
  const refused = await introduceDeals(sims, targets);
  if (refused) throw new Error(refused);
  if ((await drained(600_000)) === null) throw new Error("the first sync of every deal did not finish within 10 minutes");
  const introduceSeconds = (Date.now() - introduced) / 1000;
  log(`every deal synced; watching the background work of ${options.tenants + options.spareTenants} installed accounts for ${BACKGROUND_WINDOW_MS / 1000} s`);
  const background = await watchBackground(observer, web, workers, BACKGROUND_WINDOW_MS);

  return {
    label: "product",
    tenants,
    targets,
    drained,
    context,
    web,
    workers,
    spare,
    observer,
    accountIds,
    introduceSeconds,
    idleQueriesPerWorker,
    idleRssMb,
    background,
    processes: () => [web, ...workers],
    syncTimings: (since) => observer.syncTimings(accountIds, since),
    stop: async () => {
      await Promise.all([web, ...workers].map((process) => process.stop(30_000)));
      await observer.close();
    },
  };
}

/** CPU, statements and jobs of the app over `windowMs` in which no deal changes. */
async function watchBackground(observer: Observer, web: AppProcess, workers: AppProcess[], windowMs: number): Promise<Background> {
  const since = new Date();
  const cpu = (processes: AppProcess[]) => {
    const readings = processes.map((process) => cpuSeconds(process.pid));
    return readings.some((value) => value === null) ? null : readings.reduce<number>((total, value) => total + value!, 0);
  };
  const [webBefore, workersBefore] = [cpu([web]), cpu(workers)];
  const statementsPerSecond = await observer.transactionsPerSecond(windowMs);
  const [webAfter, workersAfter] = [cpu([web]), cpu(workers)];
  const perSecond = (before: number | null, after: number | null) => (before === null || after === null ? null : ((after - before) * 1000) / (windowMs / 1000));
  return {
    seconds: windowMs / 1000,
    workersCpuMsPerSecond: perSecond(workersBefore, workersAfter),
    webCpuMsPerSecond: perSecond(webBefore, webAfter),
    statementsPerSecond,
    jobs: await observer.jobsRunBetween(since, new Date()),
  };
}

/**
 * The baseline keeps working on a webhook after the sender gave up waiting: it is done when the
 * simulators have heard nothing from anyone for a moment (the product is stopped by then).
 */
async function quiet(sims: Simulators, timeoutMs: number, quietMs = 1500): Promise<number | null> {
  const started = Date.now();
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() - started < timeoutMs) {
    const seen = sims.kommo.requests.length + sims.klaviyo.requests.length;
    if (seen !== last) {
      last = seen;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) {
      return stableSince - started;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

export type BaselineOptions = Sizing & { sims: Simulators; logDir: string; firstTag: number; log: (line: string) => void };

export async function startBaseline(options: BaselineOptions): Promise<System & { process: AppProcess }> {
  const { sims } = options;
  const port = await freePort();
  const tenants: SimTenant[] = [];
  const config: BaselineConfig = { port, kommoUrl: sims.kommo.url, klaviyoUrl: sims.klaviyo.url, klaviyoRevision: "2026-07-15", accounts: [] };
  for (let index = 0; index < options.tenants; index++) {
    const base = seedSimTenant(sims, options.firstTag + index);
    const hookKey = randomBytes(24).toString("base64url");
    tenants.push({ ...base, hookUrl: `http://127.0.0.1:${port}/hooks/${hookKey}` });
    const settings = tenantSettings(base);
    config.accounts.push({
      hookKey,
      kommoAccountId: base.kommoAccountId,
      kommoAccessToken: sims.kommo.issueTokens(base.kommoAccountId).access_token,
      klaviyoApiKey: base.klaviyo.apiKey,
      stageNames: { ...Object.fromEntries([base.incoming, ...base.stages].map((stage) => [String(stage.id), stage.name])), "142": "Won", "143": "Lost" },
      stageLists: Object.fromEntries(settings.stageLists.map((entry) => [String(entry.statusId), entry.listId])),
      allDealsListId: settings.allDealsListId,
    });
  }
  const configFile = path.join(options.logDir, "naive-baseline.json");
  writeFileSync(configFile, JSON.stringify(config));
  const process = spawnLogged("naive-baseline", ["--import", "tsx", "bench/naive-baseline.ts", configFile], cleanEnvironment({}), options.logDir);
  await process.waitForOutput("naive baseline listening", 60_000);

  const deals = new Map(tenants.map((tenant) => [tenant, Array.from({ length: options.dealsPerTenant }, (_, index) => seedDeal({ sims }, tenant, index))]));
  const targets = interleave(tenants, deals);
  options.log(`naive baseline up; introducing ${targets.length} deals`);
  await introduceDeals(sims, targets);
  return {
    label: "naive baseline",
    tenants,
    targets,
    drained: (timeoutMs) => quiet(sims, timeoutMs),
    processes: () => [process],
    process,
    stop: () => process.stop(5000),
  };
}
