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
