// Kommo misbehaving while deals move: access tokens that stop working mid-run (the app must refresh
// them and carry on) and 429s with retry_after (the app must wait, for every worker at once).
import type { FaultEnvironment } from "./environment";
import { newTenants, runScenario } from "./scenario";

const TOKEN_ROUTE = "POST /oauth2/access_token";

/**
 * Mid-run, Kommo stops accepting the access tokens in use (as when they reach the end of their
 * lifetime), refuses one call with 401 a little later, and expires the tokens again. A few seconds
 * apart: Kommo never refuses a token it has just issued, and a 401 right after a refresh means the
 * access was revoked, which the app rightly treats as final.
 */
export async function kommoTokensRejected(env: FaultEnvironment) {
  const { kommo } = env.sims;
  const tenants = await newTenants(env, 2);
  env.reset();
  const expireAll = () => tenants.forEach((tenant) => kommo.expireAccessTokens(tenant.kommoAccountId));
  const timers: NodeJS.Timeout[] = [];
  let started = false;
  const run = await runScenario(env, {
    name: "Kommo 401 mid-run (token refresh)",
    tenants,
    dealsPerTenant: 6,
    gapMs: 600,
    onDelivered: (delivered, total) => {
      if (started || delivered < total / 4) return;
      started = true;
      expireAll();
      timers.push(setTimeout(() => kommo.failNext({ status: 401, times: 1 }), 2500));
      timers.push(setTimeout(expireAll, 5000));
    },
    describeFault: () => `${kommo.requests.filter((request) => request.status === 401).length} calls answered 401; ${kommo.count(TOKEN_ROUTE, { status: 200 })} token refreshes`,
  });
  timers.forEach(clearTimeout);
  return { ...run, refreshes: kommo.count(TOKEN_ROUTE, { status: 200 }) };
}

export async function kommoThrottling(env: FaultEnvironment) {
  const { kommo } = env.sims;
  const tenants = await newTenants(env, 2);
  env.reset();
  const checkpoints = new Set([0.2, 0.4, 0.6, 0.8]);
  const run = await runScenario(env, {
    name: "Kommo 429",
    tenants,
    dealsPerTenant: 6,
    gapMs: 200,
    onDelivered: (delivered, total) => {
      for (const checkpoint of checkpoints) {
        if (delivered < total * checkpoint) continue;
        checkpoints.delete(checkpoint);
        kommo.failNext({ status: 429, times: 4, retryAfterSeconds: 1 });
      }
    },
    describeFault: () => `${kommo.requests.filter((request) => request.status === 429).length} calls answered 429 (retry_after 1 s)`,
  });
  return { ...run, throttled: kommo.requests.filter((request) => request.status === 429).length };
}
