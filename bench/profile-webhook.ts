// `npm run bench:profile-webhook`: where the web server's CPU goes per CRM webhook. The production
// build alone (no worker once the account is installed) takes N stage-change webhooks, a few in
// flight at a time, under V8's sampling profiler (--cpu-prof). Prints the CPU time per webhook from
// Linux's accounting, beside the same requests at a malformed hook key (what Next.js costs before
// the handler does anything), and the profile's self time grouped by where the code lives, then its
// top functions; the .cpuprofile stays in the run's folder for Chrome's DevTools.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTenant, moveDeal, seedDeal, type HarnessContext } from "./harness/accounts";
import { appUrl, killAll, newAppIdentity, startWeb, startWorker, type AppConfig } from "./harness/app";
import { ensureBuild } from "./harness/build";
import { createRunDatabase, migrate } from "./harness/database";
import { Observer } from "./harness/observer";
import { profilerNodeArgs, profilesByPid, profileTables, readProfile } from "./harness/cpu-profile";
import { startSimulators } from "./harness/simulators";
import { closedLoopCost, mergedCosts, type ClosedLoopCost } from "./phases";
import { freePort } from "../tests/helpers/processes";

const WEBHOOKS = Number(process.env.PROFILE_WEBHOOKS ?? 3000);
const IN_FLIGHT = Number(process.env.PROFILE_IN_FLIGHT ?? 4);
const DEALS = 50;
const ROUNDS = 4;

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
    const web = await startWeb({ ...config, nodeArgs: profilerNodeArgs(profileDir), env: { LOG_LEVEL: "warn" } });
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

    // Next.js's own share: the same route and bodies at an address whose hook key is malformed,
    // which the handler answers 404 before reading the body or the database.
    const malformedHookUrl = tenant.hookUrl.replace(/[^/]+$/, "not-a-hook-key");
    // In rounds that alternate the two kinds, so that the machine's speed drifting weighs on both alike.
    const floors: ClosedLoopCost[] = [];
    const webhooks: ClosedLoopCost[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const slice = bodies.slice((round * WEBHOOKS) / ROUNDS, ((round + 1) * WEBHOOKS) / ROUNDS);
      floors.push(await closedLoopCost(web.pid, slice.map((body) => ({ url: malformedHookUrl, body })), 404, IN_FLIGHT));
      webhooks.push(await closedLoopCost(web.pid, slice.map((body) => ({ url: tenant.hookUrl, body })), 200, IN_FLIGHT));
    }
    const floor = mergedCosts(floors);
    const measured = mergedCosts(webhooks);
    await web.stop();

    const total = (cost: ClosedLoopCost) => cost.userMsPerRequest + cost.kernelMsPerRequest;
    console.log(`${WEBHOOKS} webhooks (${IN_FLIGHT} in flight), ${measured.unexpected} not answered 200, in ${(measured.wallMs / 1000).toFixed(1)} s`);
    console.log(`web server CPU per webhook (from /proc): ${total(measured).toFixed(2)} ms, of which ${measured.userMsPerRequest.toFixed(2)} ms user, ${measured.kernelMsPerRequest.toFixed(2)} ms kernel`);
    console.log(
      `the same requests with a malformed hook key (Next.js routing and answering, no handler work): ${total(floor).toFixed(2)} ms per request` +
        `${floor.unexpected > 0 ? ` (${floor.unexpected} not answered 404)` : ""}; so the handler's own work is about ${(total(measured) - total(floor)).toFixed(2)} ms`,
    );
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
