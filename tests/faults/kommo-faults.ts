// Kommo misbehaving while deals move: access tokens that stop working mid-run (the app must refresh
// them and carry on) and 429s with retry_after (the app must wait, for every worker at once).
import type { FaultEnvironment } from "./environment";
import { newTenants, runScenario } from "./scenario";

const TOKEN_ROUTE = "POST /oauth2/access_token";

/**
 * Mid-run, Kommo stops accepting the access tokens in use (as when they reach the end of their
 * lifetime). Every later fault is placed by what the simulator observes, never by the wall clock:
 * the first call made with the token of each account's next refresh is refused with 401 (a 401
 * right after a refresh, which the app must confirm before concluding anything), and once every
 * account has come through that (a token issued after the refused one has been answered), the
 * tokens expire once more.
 */
export async function kommoTokensRejected(env: FaultEnvironment) {
  const { kommo } = env.sims;
  const tenants = await newTenants(env, 2);
  env.reset();
  /** Per account: the token whose first call was refused, and the tokens issued after it. */
  const accounts = new Map(tenants.map((tenant) => [tenant.kommoAccountId, { refused: null as string | null, later: [] as string[] }]));
  const expireAll = () => tenants.forEach((tenant) => kommo.expireAccessTokens(tenant.kommoAccountId));
  let phase: "before" | "expired" | "expiredAgain" = "before";
  const stop = kommo.onTokenIssued(({ accountId, grant, accessToken }) => {
    const account = accounts.get(accountId);
    if (phase !== "expired" || grant !== "refresh_token" || !account) return;
    if (account.refused === null) {
      account.refused = accessToken;
      kommo.failNext({ status: 401, times: 1, accessToken });
    } else account.later.push(accessToken);
  });
  const confirmedEverywhere = () =>
    [...accounts.values()].every((account) => account.later.some((token) => (kommo.store.accessTokens.get(token)?.answered ?? 0) > 0));
  const advance = () => {
    if (phase === "expired" && confirmedEverywhere()) {
      phase = "expiredAgain";
      expireAll();
    }
  };
  // The state is looked at as deliveries go and a few times a second, so the second expiry also
  // comes when the last deliveries are already in.
  const watcher = setInterval(advance, 100);
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
        }
        advance();
      },
      describeFault: () =>
        `${kommo.requests.filter((request) => request.status === 401).length} calls answered 401 ` +
        `(${[...accounts.values()].filter((account) => account.refused !== null).length} of them a first call after a refresh); ` +
        `${kommo.count(TOKEN_ROUTE, { status: 200 })} token refreshes; ${phase === "expiredAgain" ? "expired twice" : "expired once"}`,
    });
    const refusedAfterRefresh = [...accounts.values()].filter((account) => account.refused !== null).length;
    return { ...run, refreshes: kommo.count(TOKEN_ROUTE, { status: 200 }), refusedAfterRefresh, accounts: accounts.size };
  } finally {
    clearInterval(watcher);
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
