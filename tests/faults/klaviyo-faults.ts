// Klaviyo misbehaving while deals move: throttling (429 with Retry-After), server errors, errors
// after Klaviyo already applied the call, dropped connections, and answers slower than our client
// waits for.
import type { FaultEnvironment } from "./environment";
import { newTenants, runScenario } from "./scenario";

const STORM_MS = 4000;

/** "500 x12, 503 x4, reset x2": the faults the simulator injected, by kind. */
function faultSummary(requests: { fault: string | null }[]): string {
  const counts = new Map<string, number>();
  for (const request of requests) if (request.fault) counts.set(request.fault, (counts.get(request.fault) ?? 0) + 1);
  return [...counts].map(([fault, count]) => `${fault} x${count}`).join(", ") || "no faults";
}

/**
 * A few seconds in which Klaviyo throttles every call, on top of one call in seven throttled for the
 * whole run. Returns the calls that arrived during the storm: a client that honours Retry-After
 * makes a handful per endpoint, one that does not makes thousands.
 */
export async function klaviyoThrottlingStorm(env: FaultEnvironment) {
  const { klaviyo } = env.sims;
  const tenants = await newTenants(env, 2);
  env.reset();
  klaviyo.faults.failFraction(1 / 7, { kind: "status", status: 429, retryAfterSeconds: 1 }, { seed: 7 });
  const storm = { startedAt: 0, endedAt: 0 };
  const callsDuring = (window: typeof storm) => klaviyo.requests.filter((request) => request.at >= window.startedAt && request.at <= window.endedAt);
  // The storm starts once deals are being written to Klaviyo, and lasts STORM_MS.
  let calm: NodeJS.Timeout | undefined;
  const trigger = setInterval(() => {
    if (storm.startedAt !== 0 || klaviyo.requests.length < 10) return;
    clearInterval(trigger);
    storm.startedAt = Date.now();
    klaviyo.faults.failFraction(1, { kind: "status", status: 429, retryAfterSeconds: 1 });
    calm = setTimeout(() => {
      klaviyo.faults.clear();
      klaviyo.faults.failFraction(1 / 7, { kind: "status", status: 429, retryAfterSeconds: 1 }, { seed: 8 });
      storm.endedAt = Date.now();
    }, STORM_MS);
  }, 20);
  const run = await runScenario(env, {
    name: "Klaviyo 429 storm",
    tenants,
    dealsPerTenant: 8,
    gapMs: 150,
    describeFault: () => {
      const throttled = klaviyo.requests.filter((request) => request.status === 429).length;
      return `${throttled} of ${klaviyo.requests.length} calls answered 429; every call for ${STORM_MS / 1000} s (${callsDuring(storm).length} calls came in then)`;
    },
  });
  clearInterval(trigger);
  clearTimeout(calm);
  klaviyo.faults.clear();
  return { ...run, storm, duringStorm: callsDuring(storm) };
}

export async function klaviyoServerErrors(env: FaultEnvironment) {
  const { klaviyo } = env.sims;
  const tenants = await newTenants(env, 2);
  env.reset();
  // First matching rule wins: about 1 call in 4 fails, one way or another.
  klaviyo.faults.failFraction(0.08, { kind: "status", status: 500 }, { seed: 21 });
  klaviyo.faults.failFraction(0.08, { kind: "status", status: 500 }, { seed: 22, afterApply: true });
  klaviyo.faults.failFraction(0.06, { kind: "status", status: 503 }, { seed: 23 });
  klaviyo.faults.failFraction(0.04, { kind: "reset" }, { seed: 24 });
  const run = await runScenario(env, {
    name: "Klaviyo 5xx and dropped connections",
    tenants,
    dealsPerTenant: 8,
    gapMs: 100,
    describeFault: () => `${faultSummary(klaviyo.requests)} of ${klaviyo.requests.length} calls (half the 500s after Klaviyo applied the call)`,
  });
  klaviyo.faults.clear();
  return run;
}

/** Our Klaviyo client gives up on an answer after 20 s; these calls are answered (and applied) after 21 s. */
export async function klaviyoSlowerThanTimeout(env: FaultEnvironment) {
  const { klaviyo } = env.sims;
  const tenants = await newTenants(env, 2);
  env.reset();
  klaviyo.faults.failNext(2, { kind: "slow", delayMs: 21_000 }, { operation: "create_event" });
  // A dropped connection on the profile write: the retry must not depend on an answer ever coming.
  klaviyo.faults.failNext(2, { kind: "reset" }, { operation: "create_or_update_profile" });
  const run = await runScenario(env, {
    name: "Klaviyo answers after the 20 s client timeout",
    tenants,
    dealsPerTenant: 4,
    gapMs: 100,
    drainTimeoutMs: 150_000,
    describeFault: () => {
      const slow = klaviyo.requests.filter((request) => request.fault === "slow").length;
      const reset = klaviyo.requests.filter((request) => request.fault === "reset").length;
      return `${slow} event calls answered after 21 s, ${reset} profile calls dropped`;
    },
  });
  klaviyo.faults.clear();
  return run;
}
