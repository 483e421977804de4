// The workers themselves: killed without warning in the middle of a batch, and several of them
// competing for the jobs of the same deals.
import type { FaultEnvironment } from "./environment";
import { newTenants, runScenario } from "./scenario";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Two workers are killed with SIGKILL while jobs are running (a Klaviyo call hangs so that some
 * surely are), and a fresh worker is started: the dead workers' jobs expire and are run again.
 */
export async function workersKilledMidBatch(env: FaultEnvironment) {
  const { klaviyo } = env.sims;
  const tenants = await newTenants(env, 3);
  await env.startWorkers(2, { jobTimeoutSeconds: 5, maintenanceSeconds: 1 });
  env.reset();
  klaviyo.faults.failNext(3, { kind: "slow", delayMs: 4000 }, { operation: "create_event" });
  const kill = { done: false, activeJobs: 0, hung: 0 };
  const accountIds = tenants.map((tenant) => tenant.accountId);
  const run = await runScenario(env, {
    name: "worker killed (SIGKILL) mid-batch, restarted",
    tenants,
    dealsPerTenant: 6,
    gapMs: 150,
    onDelivered: async (delivered, total) => {
      if (kill.done || delivered < total / 2) return;
      kill.done = true;
      // Wait (bounded) for a job that is stuck in a Klaviyo call, then kill every worker at once.
      for (let waited = 0; waited < 15_000 && !klaviyo.requests.some((request) => request.fault === "slow" && request.answeredAt === null); waited += 50) {
        await sleep(50);
      }
      kill.hung = klaviyo.requests.filter((request) => request.fault === "slow" && request.answeredAt === null).length;
      kill.activeJobs = (await env.observer.pending(accountIds)).jobs;
      await env.stopWorkers("SIGKILL");
      await env.startWorkers(1, { jobTimeoutSeconds: 5, maintenanceSeconds: 1 });
    },
    describeFault: () => `2 workers killed with ${kill.hung} Klaviyo calls in flight (${kill.activeJobs} jobs queued or running); 1 worker restarted`,
  });
  klaviyo.faults.clear();
  return { ...run, kill };
}

/**
 * Three workers and bursts of changes on the same deals, so that a deal's next job is ready while
 * its previous one still runs. Returns how many sync runs of one deal overlapped in time (must be none).
 */
export async function workersRacing(env: FaultEnvironment) {
  const tenants = await newTenants(env, 3);
  await env.startWorkers(3, { jobTimeoutSeconds: 45, concurrency: 4 });
  env.reset();
  const run = await runScenario(env, {
    name: "three workers racing for the same deals",
    tenants,
    dealsPerTenant: 6,
    gapMs: 40,
    describeFault: () => "3 workers x 4 jobs at once; changes of one deal 20-60 ms apart",
  });
  const overlaps = await env.observer.query<{ count: string }>(
    `SELECT count(*) AS count FROM "SyncLog" a JOIN "SyncLog" b
       ON a."accountId" = b."accountId" AND a."leadId" = b."leadId" AND a."id" < b."id"
      AND a."startedAt" < b."finishedAt" AND b."startedAt" < a."finishedAt"
     WHERE a."accountId" = ANY($1::uuid[])`,
    [tenants.map((tenant) => tenant.accountId)],
  );
  const syncRuns = await env.observer.query<{ count: string }>(`SELECT count(*) AS count FROM "SyncLog" WHERE "accountId" = ANY($1::uuid[])`, [
    tenants.map((tenant) => tenant.accountId),
  ]);
  return { ...run, overlappingRuns: Number(overlaps[0]!.count), syncRuns: Number(syncRuns[0]!.count) };
}
