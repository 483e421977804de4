// Kommo misbehaving while deals move: access tokens that stop working mid-run (the app must refresh
// them and carry on) and 429s with retry_after (the app must wait, for every worker at once).
import type { FaultEnvironment } from "./environment";
import { newTenants, runScenario } from "./scenario";

const TOKEN_ROUTE = "POST /oauth2/access_token";

/**
 * Mid-run, Kommo stops accepting the access tokens in use (as when they reach the end of their
 * lifetime). The faults are timed by what the simulator observes, never by the wall clock: as each
 * account's first refresh is issued, Kommo refuses the next call made with the new token (a 401
 * right after a refresh, which the app must confirm before concluding anything); once every account
 * has been through that, the tokens expire once more.
 */
export async function kommoTokensRejected(env: FaultEnvironment) {
  const { kommo } = env.sims;
  const tenants = await newTenants(env, 2);
  env.reset();
  const ours = new Set(tenants.map((tenant) => tenant.kommoAccountId));
  const expireAll = () => tenants.forEach((tenant) => kommo.expireAccessTokens(tenant.kommoAccountId));
  /** Accounts whose refresh after the first expiry has been answered by a 401 to the fresh token. */
  const refused = new Set<number>();
  let phase: "before" | "expired" | "expiredAgain" = "before";
  const stop = kommo.onTokenIssued(({ accountId, grant }) => {
    if (phase !== "expired" || grant !== "refresh_token" || !ours.has(accountId) || refused.has(accountId)) return;
    refused.add(accountId);
    kommo.failNext({ status: 401, times: 1, accountId });
  });
  try {
    const run = await runScenario(env, {
      name: "Kommo 401 mid-run (token refresh)",
      tenants,
      dealsPerTenant: 6,
      gapMs: 600,
      onDelivered: (delivered, total) => {
        if (phase === "before" && delivered >= total / 4) {
          phase = "expired";
          expireAll();
        } else if (phase === "expired" && refused.size === ours.size && delivered < total) {
          phase = "expiredAgain";
          expireAll();
        }
      },
      describeFault: () =>
        `${kommo.requests.filter((request) => request.status === 401).length} calls answered 401 (${refused.size} right after a refresh); ` +
        `${kommo.count(TOKEN_ROUTE, { status: 200 })} token refreshes`,
    });
    return { ...run, refreshes: kommo.count(TOKEN_ROUTE, { status: 200 }), refusedAfterRefresh: refused.size, accounts: ours.size };
  } finally {
    stop();
  }
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
