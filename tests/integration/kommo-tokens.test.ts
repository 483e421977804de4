// Token lifecycle against the simulated Kommo: refresh shortly before expiry and after a 401, one
// refresh when two workers race, and a revoked refresh token taking the account to needs_reauth.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { decryptSecret, encryptSecret } from "@/lib/platform/crypto";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { KommoAccountUnavailableError } from "@/lib/integrations/kommo/errors";
import { tokenContext } from "@/lib/integrations/kommo/tokens";
import type { KommoSimulator } from "../simulators/kommo";
import { closeConnections, installAccount, startKommo } from "./kommo-fixtures";
import { IDLE_TOKEN_DAYS, refreshIdleTokens, refreshIdleTokensJob } from "@/lib/features/schedule/keep-tokens-alive";
import { ALL_JOBS } from "@/lib/worker";

let kommo: KommoSimulator;

beforeAll(async () => {
  kommo = await startKommo();
});

afterAll(async () => {
  await closeConnections(kommo);
});

const TOKEN = "POST /oauth2/access_token";
const ACCOUNT = "GET /api/v4/account";

async function storedTokens(accountId: string) {
  const row = await db().account.findUniqueOrThrow({ where: { id: accountId } });
  return {
    row,
    access: row.accessTokenEnc && decryptSecret(row.accessTokenEnc, tokenContext(accountId, "access_token")),
    refresh: row.refreshTokenEnc && decryptSecret(row.refreshTokenEnc, tokenContext(accountId, "refresh_token")),
  };
}

describe("token refresh", () => {
  it("refreshes a token that is about to expire before using it, and stores the new pair sealed", async () => {
    const installed = await installAccount(kommo);
    const before = await storedTokens(installed.accountId);
    await db().account.update({ where: { id: installed.accountId }, data: { accessTokenExpiresAt: new Date(Date.now() + 60_000) } });

    const account = await (await kommoClientFor(installed.accountId)).getAccount();

    expect(account.id).toBe(installed.kommoAccountId);
    expect(kommo.count(TOKEN, { accountId: installed.kommoAccountId })).toBe(2); // install + refresh
    expect(kommo.count(ACCOUNT, { accountId: installed.kommoAccountId, status: 401 })).toBe(0);
    const after = await storedTokens(installed.accountId);
    expect(after.access).not.toBe(before.access);
    expect(after.refresh).not.toBe(before.refresh);
    expect(after.row.accessTokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    // The old refresh token is dead at Kommo: the stored one must be the new one.
    expect(kommo.store.refreshTokens.get(before.refresh!)?.used).toBe(true);
    expect(kommo.store.refreshTokens.get(after.refresh!)?.used).toBe(false);
  });

  it("on a 401, two workers racing refresh once and both succeed", async () => {
    const installed = await installAccount(kommo);
    const workerA = await kommoClientFor(installed.accountId);
    const workerB = await kommoClientFor(installed.accountId);
    // Kommo stopped accepting the token although our stored expiry is still far away.
    kommo.expireAccessTokens(installed.kommoAccountId);
    kommo.setLatency({ tokenMs: 300 });
    let results;
    try {
      results = await Promise.all([workerA.getAccount(), workerB.getAccount()]);
    } finally {
      kommo.setLatency({ tokenMs: 0 });
    }

    expect(results.map((account) => account.id)).toEqual([installed.kommoAccountId, installed.kommoAccountId]);
    expect(kommo.count(ACCOUNT, { accountId: installed.kommoAccountId, status: 401 })).toBe(2);
    expect(kommo.count(TOKEN, { accountId: installed.kommoAccountId })).toBe(2); // install + one refresh
    expect((await storedTokens(installed.accountId)).row.status).toBe("installed");
  });

  it("when the stored token is expiring, concurrent callers share one refresh", async () => {
    const installed = await installAccount(kommo);
    await db().account.update({ where: { id: installed.accountId }, data: { accessTokenExpiresAt: new Date(Date.now() - 1000) } });
    kommo.setLatency({ tokenMs: 300 });
    try {
      const clients = await Promise.all([1, 2, 3].map(() => kommoClientFor(installed.accountId)));
      await Promise.all(clients.map((client) => client.getAccount()));
    } finally {
      kommo.setLatency({ tokenMs: 0 });
    }
    expect(kommo.count(TOKEN, { accountId: installed.kommoAccountId })).toBe(2);
    expect(kommo.count(ACCOUNT, { accountId: installed.kommoAccountId, status: 401 })).toBe(0);
  });
});

describe("revoked access", () => {
  it("puts the account in needs_reauth with a clear reason when the refresh token is revoked, and stops calling Kommo", async () => {
    const installed = await installAccount(kommo);
    const client = await kommoClientFor(installed.accountId);
    kommo.revokeAccess(installed.kommoAccountId);

    const failure = await client.getAccount().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(KommoAccountUnavailableError);
    expect(failure).toMatchObject({ code: "kommo_reauth_required", retryable: false });
    expect((failure as Error).message).toContain("Token has been revoked");
    const { row } = await storedTokens(installed.accountId);
    expect(row.status).toBe("needs_reauth");
    expect(row.statusReason).toContain("Token has been revoked");
    expect(row.statusReason).toContain("reinstall");
    expect(row.accessTokenEnc).toBeNull();
    expect(row.refreshTokenEnc).toBeNull();

    // Jobs of this account now fail at once, without another request to Kommo.
    const requestsBefore = kommo.requests.length;
    const again = await kommoClientFor(installed.accountId).catch((error: unknown) => error);
    expect(again).toMatchObject({ code: "kommo_reauth_required", retryable: false });
    expect(kommo.requests.length).toBe(requestsBefore);
  });

  it("treats a refresh token that was already used (rotation) as revoked", async () => {
    const installed = await installAccount(kommo);
    const original = await storedTokens(installed.accountId);
    await db().account.update({ where: { id: installed.accountId }, data: { accessTokenExpiresAt: new Date(0) } });
    await (await kommoClientFor(installed.accountId)).getAccount();
    // A stale copy of the old pair comes back (e.g. restored from a backup).
    await db().account.update({
      where: { id: installed.accountId },
      data: {
        refreshTokenEnc: encryptSecret(original.refresh!, tokenContext(installed.accountId, "refresh_token")),
        accessTokenExpiresAt: new Date(0),
      },
    });

    await expect((await kommoClientFor(installed.accountId)).getAccount()).rejects.toMatchObject({ code: "kommo_reauth_required" });
    expect(kommo.count(TOKEN, { accountId: installed.kommoAccountId, status: 401 })).toBe(1);
    expect((await storedTokens(installed.accountId)).row.status).toBe("needs_reauth");
  });
});

describe("a 401 right after a refresh", () => {
  it("is confirmed before any verdict: one more refresh and an account read, then the call goes through", async () => {
    const installed = await installAccount(kommo);
    const client = await kommoClientFor(installed.accountId);
    kommo.expireAccessTokens(installed.kommoAccountId);
    // Kommo refuses the first call made with the token it has just issued (that token only: the
    // confirming read uses the next one).
    let armed = true;
    const stop = kommo.onTokenIssued(({ accountId, grant, accessToken }) => {
      if (!armed || accountId !== installed.kommoAccountId || grant !== "refresh_token") return;
      armed = false;
      kommo.failNext({ status: 401, accessToken });
    });
    kommo.resetCounters();
    try {
      const account = await client.getAccount();
      expect(account.id).toBe(installed.kommoAccountId);
    } finally {
      stop();
    }

    // expired token 401, refresh, injected 401 to the fresh token, one more refresh, the account read, the repeat.
    expect(kommo.count(TOKEN, { accountId: installed.kommoAccountId, status: 200 })).toBe(2);
    expect(kommo.count(ACCOUNT, { accountId: installed.kommoAccountId, status: 401 })).toBe(2);
    expect(kommo.count(ACCOUNT, { accountId: installed.kommoAccountId, status: 200 })).toBe(2);
    const { row } = await storedTokens(installed.accountId);
    expect(row.status).toBe("installed");
    expect(row.accessTokenEnc).not.toBeNull();
  });

  it("stays retryable while the confirmation cannot finish, and leaves the account installed", async () => {
    const installed = await installAccount(kommo);
    const client = await kommoClientFor(installed.accountId);
    // The call and its repeat after a refresh are refused, then the account read meets a 5xx three times.
    kommo.failNext({ status: 401, times: 2, accountId: installed.kommoAccountId });
    const unreadable = () => kommo.failNext({ status: 503, times: 3, accountId: installed.kommoAccountId, route: ACCOUNT });
    let refreshes = 0;
    const stop = kommo.onTokenIssued(({ accountId }) => {
      if (accountId === installed.kommoAccountId && ++refreshes === 2) unreadable();
    });
    let failure: unknown;
    try {
      failure = await client.getAccount().catch((error: unknown) => error);
    } finally {
      stop();
    }

    expect(failure).toMatchObject({ code: "kommo_access_unconfirmed", retryable: true });
    expect((await storedTokens(installed.accountId)).row.status).toBe("installed");
    // Kommo is fine again: the next attempt (the queue's retry) goes through.
    await expect((await kommoClientFor(installed.accountId)).getAccount()).resolves.toMatchObject({ id: installed.kommoAccountId });
  });

  it("concludes needs_reauth only when the fresh token is refused again by the account read", async () => {
    const installed = await installAccount(kommo);
    const client = await kommoClientFor(installed.accountId);
    // Access withdrawn while refresh still answers: the call, its repeat and the account read are refused.
    kommo.failNext({ status: 401, times: 3, accountId: installed.kommoAccountId });

    const failure = await client.getAccount().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(KommoAccountUnavailableError);
    expect(failure).toMatchObject({ code: "kommo_reauth_required", retryable: false });
    expect(kommo.count(TOKEN, { accountId: installed.kommoAccountId, status: 200 })).toBe(3); // install + two refreshes
    const { row } = await storedTokens(installed.accountId);
    expect(row.status).toBe("needs_reauth");
    expect(row.statusReason).toContain("reinstall");
    expect(row.accessTokenEnc).toBeNull();
  });
});

describe("idle accounts", () => {
  it("a daily job renews pairs unused for weeks, leaves fresh ones alone, and marks a revoked one needs_reauth", async () => {
    expect(ALL_JOBS).toContain(refreshIdleTokensJob);
    expect(refreshIdleTokensJob.cron).toBeDefined();
    const idle = await installAccount(kommo);
    const active = await installAccount(kommo);
    const revoked = await installAccount(kommo);
    const weeksAgo = new Date(Date.now() - (IDLE_TOKEN_DAYS + 5) * 86_400_000);
    await db().account.updateMany({ where: { id: { in: [idle.accountId, revoked.accountId] } }, data: { accessTokenExpiresAt: weeksAgo } });
    kommo.revokeAccess(revoked.kommoAccountId);
    const before = await storedTokens(idle.accountId);

    await refreshIdleTokens();

    const after = await storedTokens(idle.accountId);
    expect(after.refresh).not.toBe(before.refresh);
    expect(after.row.accessTokenExpiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(kommo.count(TOKEN, { accountId: idle.kommoAccountId, status: 200 })).toBe(2); // install + renewal
    expect(kommo.count(TOKEN, { accountId: active.kommoAccountId })).toBe(1); // install only
    const gone = await storedTokens(revoked.accountId);
    expect(gone.row.status).toBe("needs_reauth");
    expect(gone.row.statusReason).toContain("reinstall");
  });
});
