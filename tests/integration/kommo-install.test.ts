// Installing through both doors of GET /api/kommo/oauth/callback against the simulated Kommo:
// the widget's server-to-server call and the browser consent redirect, reinstalls, refusals, and
// an install that has to finish in the kommo-install queue.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as callback } from "@/app/api/kommo/oauth/callback/route";
import { GET as startConsent } from "@/app/api/kommo/oauth/start/route";
import { db, numberIds } from "@/lib/db/client";
import { decryptSecret } from "@/lib/platform/crypto";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { beginInstall } from "@/lib/features/install/install";
import { installWithin } from "@/lib/features/install/install-runner";
import { createOAuthState } from "@/lib/features/install/oauth-state";
import { tokenContext } from "@/lib/integrations/kommo/tokens";
import type { KommoSimulator } from "../simulators/kommo";
import { CLIENT_ID, closeConnections, newKommoAccountId, sql, startKommo } from "./kommo-fixtures";
import { kommoInstallJob } from "@/lib/features/install/install-job";
import { clientAddress, DOOR_LIMIT, pruneDoorState, pruneDoorStateJob } from "@/lib/features/install/door";
import { readSignedInUser } from "@/lib/features/dashboard/auth/kommo-sign-in";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { unverifiedRateKey } from "@/lib/integrations/kommo/rate";
import { pauseBucket } from "@/lib/rate-limit";
import { resetEnvForTests } from "@/lib/platform/env";
import { ALL_JOBS } from "@/lib/worker";

let kommo: KommoSimulator;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  kommo = await startKommo();
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 1000 });
  // The install jobs of these tests are finished or cancelled; they would only pin the queue.
  await sql("DELETE FROM pgboss.job WHERE name = $1", [kommoInstallJob.name]);
  await closeConnections(kommo);
});

const APP_URL = process.env.APP_URL!;

function callbackUrl(params: Record<string, string>) {
  return `${APP_URL}/api/kommo/oauth/callback?${new URLSearchParams(params)}`;
}

function newKommoAccount() {
  const id = newKommoAccountId();
  const subdomain = `shop${id}`;
  kommo.addAccount({ id, subdomain, name: `Shop ${id}`, country: "DE", currency: "EUR" });
  return { id, subdomain, host: `${subdomain}.kommo.com` };
}

const widgetInstall = (host: string, code: string) => callback(new Request(callbackUrl({ code, referer: host, from_widget: "1" })));

const accountRow = async (kommoAccountId: number) => {
  const row = await db().account.findUnique({ where: { kommoAccountId } });
  return row && numberIds(row);
};

async function waitForInstalled(kommoAccountId: number) {
  const deadline = Date.now() + 15_000;
  let row = await accountRow(kommoAccountId);
  while (!row?.webhookRegisteredAt && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    row = await accountRow(kommoAccountId);
  }
  return row;
}

/** Polls `read` until it equals `expected` (or 10 s pass) and returns the last value read. */
async function eventually<T>(read: () => Promise<T>, expected: T): Promise<T> {
  const deadline = Date.now() + 10_000;
  let value = await read();
  while (JSON.stringify(value) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

const installJobs = (host: string) =>
  sql<{ state: string; data: Record<string, string> }>(
    "SELECT state, data FROM pgboss.job WHERE name = $1 AND data->>'host' = $2 ORDER BY created_on",
    [kommoInstallJob.name, host],
  );

describe("install by the widget's server-to-server call", () => {
  it("exchanges the code, stores the account with encrypted tokens and registers the CRM webhook", async () => {
    const account = newKommoAccount();
    const code = kommo.issueCode(account.id);

    const response = await widgetInstall(account.host, code);

    // 200 when the install finished inside Kommo's budget; on a starved machine it may finish in
    // the background instead (202), which the slow-Kommo test below covers.
    expect([200, 202]).toContain(response.status);
    expect(await response.json()).toEqual({ status: response.status === 200 ? "installed" : "pending" });
    const row = await waitForInstalled(account.id);
    expect(row).toMatchObject({
      kommoAccountId: account.id,
      subdomain: account.subdomain,
      host: account.host,
      name: `Shop ${account.id}`,
      currency: "EUR",
      country: "DE",
      status: "installed",
      statusReason: null,
    });
    // Stored sealed; the sealed value opens to a token the simulated Kommo accepts.
    expect(row!.accessTokenEnc).not.toContain("sim-at-");
    const accessToken = decryptSecret(row!.accessTokenEnc!, tokenContext(row!.id, "access_token"));
    expect(kommo.store.accessTokens.get(accessToken)?.accountId).toBe(account.id);
    expect(row!.accessTokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);

    const webhooks = kommo.account(account.id).webhooks;
    expect(webhooks).toHaveLength(1);
    expect(webhooks[0]).toMatchObject({
      destination: `${APP_URL}/api/kommo/webhooks/${row!.hookKey}`,
      settings: ["add_lead", "update_lead", "status_lead", "delete_lead", "update_contact", "update_company"],
      disabled: false,
    });
    expect(row!.kommoWebhookId).toBe(webhooks[0]!.id);
    expect(row!.webhookRegisteredAt).toBeInstanceOf(Date);
  });

  it("updates the same account on a reinstall: same row and hook key, new tokens, one webhook", async () => {
    const account = newKommoAccount();
    await widgetInstall(account.host, kommo.issueCode(account.id));
    const first = await waitForInstalled(account.id);
    await db().account.update({ where: { id: first!.id }, data: { status: "needs_reauth", statusReason: "refresh token rejected" } });

    const response = await widgetInstall(account.host, kommo.issueCode(account.id));

    expect([200, 202]).toContain(response.status);
    await eventually(async () => (await accountRow(account.id))?.status, "installed");
    const rows = (await db().account.findMany({ where: { kommoAccountId: account.id } })).map(numberIds);
    expect(rows).toHaveLength(1);
    const second = rows[0]!;
    expect(second.id).toBe(first!.id);
    expect(second.hookKey).toBe(first!.hookKey);
    expect(second.status).toBe("installed");
    expect(second.statusReason).toBeNull();
    const token = (row: typeof second) => decryptSecret(row.accessTokenEnc!, tokenContext(row.id, "access_token"));
    expect(token(second)).not.toBe(token(first!));
    expect(kommo.account(account.id).webhooks).toHaveLength(1);
  });

  it("refuses a referer that is not a Kommo account host without calling anyone", async () => {
    const before = kommo.requests.length;
    const response = await widgetInstall("attacker.example.com", "whatever");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: "invalid_referer", message: expect.any(String) } });
    expect(kommo.requests.length).toBe(before);
  });

  it("fails clearly on a code that was already used or has expired, and stores nothing", async () => {
    const used = newKommoAccount();
    const code = kommo.issueCode(used.id);
    expect((await widgetInstall(used.host, code)).status).toBe(200);
    await db().account.delete({ where: { kommoAccountId: used.id } });
    // The same code again is not even sent to Kommo: it was taken once already.
    const exchangesBefore = kommo.count("POST /oauth2/access_token");
    const again = await widgetInstall(used.host, code);
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe("install_code_reused");
    expect(kommo.count("POST /oauth2/access_token")).toBe(exchangesBefore);
    expect(await accountRow(used.id)).toBeNull();
    // Had it reached Kommo (another deployment's memory), Kommo's refusal is said clearly.
    await db().installCodeSeen.deleteMany({});
    const replay = await widgetInstall(used.host, code);
    expect(replay.status).toBe(400);
    expect((await replay.json()).error.message).toContain("Authorization code has been revoked");
    expect(await accountRow(used.id)).toBeNull();

    const late = newKommoAccount();
    const lateCode = kommo.issueCode(late.id);
    kommo.advanceTime(21 * 60_000);
    try {
      const expired = await widgetInstall(late.host, lateCode);
      expect(expired.status).toBe(400);
      expect((await expired.json()).error.message).toContain("Authorization code has expired");
      expect(await accountRow(late.id)).toBeNull();
    } finally {
      kommo.advanceTime(-21 * 60_000);
    }
  });

  it("answers within Kommo's 3 s when Kommo is slow, and finishes the install in the background", async () => {
    const account = newKommoAccount();
    kommo.setLatency({ apiMs: 3_000 });
    let response: Response;
    const started = Date.now();
    try {
      response = await widgetInstall(account.host, kommo.issueCode(account.id));
    } finally {
      kommo.setLatency({ apiMs: 0 });
    }
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ status: "pending" });

    const row = await waitForInstalled(account.id);
    expect(row).toMatchObject({ status: "installed", host: account.host });
    // The safety-net job written before the work started is cancelled once the install finished.
    expect(await eventually(async () => (await installJobs(account.host)).map((job) => job.state), ["cancelled"])).toEqual(["cancelled"]);
    expect(kommo.count("POST /oauth2/access_token", { accountId: account.id })).toBe(1);
  });

  it("continues an install in the kommo-install queue from the step it reached, never replaying the code", async () => {
    const account = newKommoAccount();
    // The exchange is quick; reading the account takes longer than the inline run may last.
    kommo.setLatency({ apiMs: 5_000 });
    let jobs: Awaited<ReturnType<typeof installJobs>> = [];
    try {
      const result = await installWithin(beginInstall(account.host, kommo.issueCode(account.id)), { answerByMs: 100, deadlineMs: 2_000, safetyNetDelaySeconds: 30 });
      expect(result).toEqual({ kind: "pending" });
      const deadline = Date.now() + 10_000;
      while (!(jobs.length === 2 && jobs[0]!.state === "cancelled") && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        jobs = await installJobs(account.host);
      }
    } finally {
      kommo.setLatency({ apiMs: 0 });
    }
    expect(await accountRow(account.id)).toBeNull();
    expect(jobs.map((job) => [job.state, job.data.step])).toEqual([
      ["cancelled", "exchange"],
      ["created", "account"],
    ]);
    // The queued state carries the exchanged tokens sealed, never in clear.
    const issued = [...kommo.store.accessTokens.entries()].filter(([, token]) => token.accountId === account.id).map(([value]) => value);
    expect(issued).toHaveLength(1);
    expect(JSON.stringify(jobs[1]!.data)).not.toContain(issued[0]);

    worker = await startWorker({
      databaseUrl: process.env.DATABASE_URL!,
      jobs: [kommoInstallJob],
      log: pino({ level: "silent" }),
      concurrency: 1,
    });
    const row = await waitForInstalled(account.id);
    expect(row).toMatchObject({ status: "installed", host: account.host });
    expect(kommo.count("POST /oauth2/access_token", { accountId: account.id })).toBe(1);
    expect(await eventually(async () => (await installJobs(account.host)).map((job) => job.state), ["cancelled", "completed"])).toEqual([
      "cancelled",
      "completed",
    ]);
  });
});

describe("install by the browser consent redirect", () => {
  it("starts the consent flow with a stored one-time state", async () => {
    const response = await startConsent(new Request(`${APP_URL}/api/kommo/oauth/start`));
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location")!);
    expect(location.origin + location.pathname).toBe("https://www.kommo.com/oauth");
    expect(location.searchParams.get("client_id")).toBe(CLIENT_ID);
    const state = location.searchParams.get("state")!;
    expect(await db().oAuthState.findUnique({ where: { state } })).not.toBeNull();
  });

  it("installs with a valid state, and accepts that state only once", async () => {
    const account = newKommoAccount();
    const state = await createOAuthState();
    const response = await callback(new Request(callbackUrl({ code: kommo.issueCode(account.id), referer: account.host, state, client_id: CLIENT_ID })));

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(await response.text()).toContain(`Shop ${account.id}`);
    expect((await accountRow(account.id))?.status).toBe("installed");
    expect(await db().oAuthState.findUnique({ where: { state } })).toBeNull();

    const tokenCalls = kommo.count("POST /oauth2/access_token");
    const replay = await callback(new Request(callbackUrl({ code: kommo.issueCode(account.id), referer: account.host, state, client_id: CLIENT_ID })));
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain("already used or is too old");
    expect(kommo.count("POST /oauth2/access_token")).toBe(tokenCalls);
  });

  it("refuses an expired state, an unknown state and another integration's client_id", async () => {
    const account = newKommoAccount();
    const expired = await createOAuthState(new Date(Date.now() - 60 * 60_000));
    const asked = (params: Record<string, string>) =>
      callback(new Request(callbackUrl({ code: kommo.issueCode(account.id), referer: account.host, client_id: CLIENT_ID, ...params })));

    expect((await asked({ state: expired })).status).toBe(400);
    expect((await asked({ state: "never-issued" })).status).toBe(400);
    const valid = await createOAuthState();
    expect((await asked({ state: valid, client_id: "11111111-2222-4333-8444-555555555555" })).status).toBe(400);
    expect(await accountRow(account.id)).toBeNull();
  });

  it("shows a clear page when the user declines, and spends the state", async () => {
    const state = await createOAuthState();
    const response = await callback(new Request(callbackUrl({ error: "access_denied", state, client_id: CLIENT_ID })));
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain("Access not granted");
    expect(page).toContain("declined");
    expect(await db().oAuthState.findUnique({ where: { state } })).toBeNull();
  });

  it("rejects a callback that is neither door", async () => {
    const response = await callback(new Request(callbackUrl({ code: "x", referer: "shop.kommo.com" })));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: "invalid_request", message: expect.any(String) } });
  });
});

describe("the open doors under abuse", () => {
  const TOKEN = "POST /oauth2/access_token";
  const fromAddress = (url: string, address: string) => new Request(url, { headers: { "x-forwarded-for": `10.9.9.9, ${address}` } });

  it("reads the client address from X-Forwarded-For only as far as trusted proxies wrote it", () => {
    const request = fromAddress(callbackUrl({}), "203.0.113.5");
    expect(clientAddress(request, 0)).toBe("direct");
    expect(clientAddress(request, 1)).toBe("203.0.113.5");
    expect(clientAddress(request, 2)).toBe("10.9.9.9");
    expect(clientAddress(new Request(callbackUrl({}), { headers: { "x-forwarded-for": "<script>" } }), 1)).toBe("unknown");
  });

  it("limits junk from one address (429, Retry-After, no job, no exchange) while another address installs", async () => {
    process.env.TRUSTED_PROXY_HOPS = "1";
    resetEnvForTests();
    try {
      const victim = newKommoAccount();
      const exchanges = kommo.count(TOKEN);
      const jobsBefore = (await sql<{ n: string }>("SELECT count(*) AS n FROM pgboss.job WHERE name = $1", [kommoInstallJob.name]))[0]!.n;
      const statuses: number[] = [];
      let limited: Response | undefined;
      const floodStarted = Date.now();
      for (let i = 0; i < DOOR_LIMIT.burst * 3 && !limited; i++) {
        const answer = await callback(fromAddress(callbackUrl({ code: `junk-${i}`, referer: victim.host, from_widget: "1" }), "198.51.100.66"));
        statuses.push(answer.status);
        if (answer.status === 429) limited = answer;
      }
      expect(limited, statuses.join(",")).toBeDefined();
      expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect((await limited!.json()).error.code).toBe("rate_limited");
      const admitted = statuses.filter((status) => status !== 429).length;
      // The burst, then the steady rate for as long as the flood went on.
      expect(admitted).toBeLessThanOrEqual(DOOR_LIMIT.burst + Math.ceil(((Date.now() - floodStarted) / 1000) * DOOR_LIMIT.ratePerSecond) + 1);
      // Further junk from that address costs nothing: no exchange, no safety-net job.
      const exchangesAfterFlood = kommo.count(TOKEN);
      const jobsAfterFlood = (await sql<{ n: string }>("SELECT count(*) AS n FROM pgboss.job WHERE name = $1", [kommoInstallJob.name]))[0]!.n;
      for (let i = 0; i < 5; i++) {
        expect((await callback(fromAddress(callbackUrl({ code: `more-${i}`, referer: victim.host, from_widget: "1" }), "198.51.100.66"))).status).toBe(429);
        expect((await startConsent(fromAddress(`${APP_URL}/api/kommo/oauth/start`, "198.51.100.66"))).status).toBe(429);
      }
      expect(kommo.count(TOKEN)).toBe(exchangesAfterFlood);
      expect((await sql<{ n: string }>("SELECT count(*) AS n FROM pgboss.job WHERE name = $1", [kommoInstallJob.name]))[0]!.n).toBe(jobsAfterFlood);
      expect(Number(jobsAfterFlood) - Number(jobsBefore)).toBeLessThanOrEqual(admitted);
      expect(exchangesAfterFlood - exchanges).toBeLessThanOrEqual(admitted);

      // The account's real install, from Kommo's address, goes through.
      const real = await callback(fromAddress(callbackUrl({ code: kommo.issueCode(victim.id), referer: victim.host, from_widget: "1" }), "192.0.2.10"));
      expect(real.status).toBe(200);
      expect((await waitForInstalled(victim.id))?.status).toBe("installed");
    } finally {
      delete process.env.TRUSTED_PROXY_HOPS;
      resetEnvForTests();
    }
  });

  it("junk's budget far in debt: the sign-in answers at once, the verified account's calls are untouched", async () => {
    const shop = newKommoAccount();
    expect((await widgetInstall(shop.host, kommo.issueCode(shop.id))).status).toBe(200);
    const installed = (await waitForInstalled(shop.id))!;
    // What a flood of junk codes for this host leaves behind: its unverified budget deep in debt.
    await pauseBucket(unverifiedRateKey(shop.host), { ratePerSecond: 5, burst: 1 }, 600);

    const started = Date.now();
    const signIn = await readSignedInUser({ code: kommo.issueCode(shop.id), referer: shop.host }).catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(signIn).toMatchObject({ code: "kommo_rate_limited", retryable: true });

    const call = Date.now();
    await expect((await kommoClientFor(installed.id)).getAccount()).resolves.toMatchObject({ id: shop.id });
    expect(Date.now() - call).toBeLessThan(2_000);
  });

  it("junk's budget far in debt: the install door answers 429 at once, sends nothing, keeps no job, and takes the same code later", async () => {
    const shop = newKommoAccount();
    await pauseBucket(unverifiedRateKey(shop.host), { ratePerSecond: 5, burst: 1 }, 600);
    const code = kommo.issueCode(shop.id);
    const exchanges = kommo.count(TOKEN);

    const started = Date.now();
    const refused = await widgetInstall(shop.host, code);
    expect(Date.now() - started).toBeLessThan(2_300);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await refused.json()).error.code).toBe("rate_limited");
    expect(kommo.count(TOKEN)).toBe(exchanges);
    expect(await eventually(async () => (await installJobs(shop.host)).filter((job) => job.state !== "cancelled").length, 0)).toBe(0);

    // The budget recovers (idle buckets are forgotten): the same code, never sent, installs.
    await sql(`DELETE FROM "RateLimitBucket" WHERE "key" = $1`, [unverifiedRateKey(shop.host)]);
    expect((await widgetInstall(shop.host, code)).status).toBe(200);
    expect((await waitForInstalled(shop.id))?.status).toBe("installed");
  });

  it("prunes idle rate buckets and old install codes daily, keeping fresh ones", async () => {
    expect(ALL_JOBS).toContain(pruneDoorStateJob);
    expect(pruneDoorStateJob.cron).toBeDefined();
    await sql(`INSERT INTO "RateLimitBucket" ("key", "tokens", "refilledAt") VALUES ('door:old', 1, now() - interval '3 days'), ('door:fresh', 1, now())`);
    await sql(`INSERT INTO "InstallCodeSeen" ("codeHash", "seenAt") VALUES ('old-hash', now() - interval '3 days'), ('fresh-hash', now())`);
    const pruned = await pruneDoorState();
    expect(pruned.buckets).toBeGreaterThanOrEqual(1);
    expect(pruned.codes).toBeGreaterThanOrEqual(1);
    const keys = (await sql<{ key: string }>(`SELECT "key" FROM "RateLimitBucket" WHERE "key" IN ('door:old', 'door:fresh')`)).map((row) => row.key);
    expect(keys).toEqual(["door:fresh"]);
    const codes = (await sql<{ codeHash: string }>(`SELECT "codeHash" FROM "InstallCodeSeen" WHERE "codeHash" IN ('old-hash', 'fresh-hash')`)).map((row) => row.codeHash);
    expect(codes).toEqual(["fresh-hash"]);
  });
});
