// `npm run bench:profile-webhook`: where the web server's CPU goes per CRM webhook. The production
// build alone (no worker once the account is installed) takes N stage-change webhooks, a few in
// flight at a time, under V8's sampling profiler (--cpu-prof). Prints the CPU time per webhook from
// Linux's accounting and the profile's self time grouped by where the code lives, then its top
// functions; the .cpuprofile stays in the run's folder for Chrome's DevTools.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTenant, moveDeal, seedDeal, type HarnessContext } from "./harness/accounts";
import { appUrl, killAll, newAppIdentity, startWeb, startWorker, type AppConfig } from "./harness/app";
import { ensureBuild } from "./harness/build";
import { createRunDatabase, migrate } from "./harness/database";
import { Observer } from "./harness/observer";
import { profilesByPid, profileTables, readProfile } from "./harness/cpu-profile";
import { cpuTimes } from "./harness/process-stats";
import { startSimulators } from "./harness/simulators";
import { postForm } from "./harness/webhooks";
import { freePort } from "../tests/helpers/processes";

const WEBHOOKS = Number(process.env.PROFILE_WEBHOOKS ?? 3000);
const IN_FLIGHT = Number(process.env.PROFILE_IN_FLIGHT ?? 4);
const DEALS = 50;

async function main() {
  await ensureBuild();
  const database = await createRunDatabase("kss_profile");
  await migrate(database.url);
  const identity = newAppIdentity();
  const port = await freePort();
  const sims = await startSimulators({ identity, appUrl: appUrl({ port }), latencyMs: 0 });
  const logDir = mkdtempSync(path.join(tmpdir(), "kss-profile-"));
  const profileDir = path.join(logDir, "profiles");
  const config: AppConfig = { identity, databaseUrl: database.url, port, kommoUrl: sims.kommo.url, klaviyoUrl: sims.klaviyo.url, logDir };
  const observer = new Observer(database.url);
  try {
    const web = await startWeb({ ...config, nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`], env: { LOG_LEVEL: "warn" } });
    const worker = await startWorker(config, "worker");
    const context: HarnessContext = { sims, identity, appUrl: appUrl(config), observer };
    const tenant = await createTenant(context, 1);
    await worker.stop();
    const deals = Array.from({ length: DEALS }, (_, index) => seedDeal(context, tenant, index));
    const bodies = Array.from({ length: WEBHOOKS }, (_, index) => {
      const deal = deals[index % DEALS]!;
      const stages = [tenant.stages[0]!.id, tenant.stages[1]!.id];
      return moveDeal(context, tenant, deal, stages[Math.floor(index / DEALS) % 2]!).body;
    });

    const before = cpuTimes(web.pid)!;
    const started = Date.now();
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < bodies.length) {
          const delivery = await postForm(tenant.hookUrl, bodies[next++]!);
          if (delivery.status !== 200) failed++;
        }
      }),
    );
    const wallMs = Date.now() - started;
    const after = cpuTimes(web.pid)!;
    const userMs = (after.user - before.user) * 1000;
    const systemMs = (after.system - before.system) * 1000;
    await web.stop();

    console.log(`${WEBHOOKS} webhooks (${IN_FLIGHT} in flight), ${failed} not answered 200, in ${(wallMs / 1000).toFixed(1)} s`);
    const perWebhook = (ms: number) => (ms / WEBHOOKS).toFixed(2);
    console.log(`web server CPU per webhook (from /proc): ${perWebhook(userMs + systemMs)} ms, of which ${perWebhook(userMs)} ms user, ${perWebhook(systemMs)} ms kernel`);
    const file = profilesByPid(profileDir).get(web.pid);
    if (!file) return;
    const summary = readProfile(file);
    console.log(`\nprofile ${file} (whole life of the process, start-up included): ${(summary.totalMs / 1000).toFixed(1)} s sampled\n`);
    console.log(profileTables(summary, 15, 25));
  } finally {
    await killAll();
    await observer.close();
    await sims.close();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
