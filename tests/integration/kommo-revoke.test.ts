// GET /api/kommo/revoke: a correctly signed hook disconnects the account (tokens, Klaviyo key and
// queued syncs gone) once Kommo confirms the access is revoked; a forged one changes nothing, and a
// signed one Kommo does not back (a replay after a reinstall) changes nothing either.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as revoke } from "@/app/api/kommo/revoke/route";
import { POST as webhook } from "@/app/api/kommo/webhooks/[hookKey]/route";
import { db } from "@/lib/db/client";
import { encryptSecret } from "@/lib/platform/crypto";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { enqueueLeadSyncs } from "@/lib/features/sync/lead-jobs";
import { fireWebhook, type KommoSimulator } from "../simulators/kommo";
import { CLIENT_ID, CLIENT_SECRET, closeConnections, installAccount, jobsOf, newKommoAccountId, startKommo, type InstalledAccount } from "./kommo-fixtures";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";
import { advanceInstall, beginInstall } from "@/lib/features/install/install";

let kommo: KommoSimulator;

beforeAll(async () => {
  kommo = await startKommo();
});

afterAll(async () => {
  await closeConnections(kommo);
});

const sign = (secret: string, message: string) => createHmac("sha256", secret).update(message).digest("hex");

function revokeRequest(params: { client_uuid?: string; account_id?: string; signature?: string } | URLSearchParams) {
  const query =
    params instanceof URLSearchParams ? params : new URLSearchParams(Object.entries(params).filter(([, value]) => value !== undefined) as [string, string][]);
  return new Request(`${process.env.APP_URL}/api/kommo/revoke?${query}`, { headers: { "User-Agent": "amoService-oAuth-Code-Sender/1.0" } });
}

/** An installed account that also has a Klaviyo key and queued syncs. */
async function connectedAccount(): Promise<InstalledAccount> {
  const installed = await installAccount(kommo);
  await withKlaviyoAndQueue(installed);
  return installed;
}

async function withKlaviyoAndQueue(installed: InstalledAccount): Promise<void> {
  await db().account.update({
    where: { id: installed.accountId },
    data: {
      klaviyoApiKeyEnc: encryptSecret("pk_live_secret_key_1234", `account:${installed.accountId}:klaviyo_api_key`),
      klaviyoKeyHint: "pk_…1234",
      klaviyoAccountId: "KL123",
      klaviyoAccountName: "Shop on Klaviyo",
    },
  });
  await enqueueLeadSyncs(installed.accountId, [101, 102]);
}

/** The admin installs the integration again into the same Kommo account (a new token pair). */
async function reinstall(installed: InstalledAccount): Promise<void> {
  const outcome = await advanceInstall(beginInstall(`${installed.subdomain}.kommo.com`, kommo.issueCode(installed.kommoAccountId)));
  if (!outcome.done) throw outcome.error;
  expect(outcome.accountId).toBe(installed.accountId);
}

/** Everything a hook that changes nothing must leave as it was (the token pair may rotate). */
async function expectUntouched(installed: InstalledAccount) {
  const row = await db().account.findUniqueOrThrow({ where: { id: installed.accountId } });
  expect(row).toMatchObject({ status: "installed", disconnectedAt: null, klaviyoKeyHint: "pk_…1234", klaviyoAccountId: "KL123" });
  expect(row.klaviyoApiKeyEnc).not.toBeNull();
  expect(row.accessTokenEnc).not.toBeNull();
  expect(row.refreshTokenEnc).not.toBeNull();
  expect(await jobsOf(syncLeadJob.name, installed.accountId)).toHaveLength(2);
  // Kommo still answers with the stored tokens.
  expect((await (await kommoClientFor(installed.accountId)).getAccount()).id).toBe(installed.kommoAccountId);
}

describe("revoke hook", () => {
  it("rejects forged, mis-addressed and incomplete calls with 401 and changes nothing", async () => {
    const installed = await connectedAccount();
    const before = await db().account.findUniqueOrThrow({ where: { id: installed.accountId } });
    const accountId = String(installed.kommoAccountId);
    const otherAccount = String(installed.kommoAccountId + 1);

    const attempts = [
      { client_uuid: CLIENT_ID, account_id: accountId, signature: sign("not-our-secret-at-all", `${CLIENT_ID}|${accountId}`) },
      // A valid signature for another account id does not carry over.
      { client_uuid: CLIENT_ID, account_id: accountId, signature: sign(CLIENT_SECRET, `${CLIENT_ID}|${otherAccount}`) },
      { client_uuid: "11111111-2222-4333-8444-555555555555", account_id: accountId, signature: sign(CLIENT_SECRET, `${CLIENT_ID}|${accountId}`) },
      { client_uuid: CLIENT_ID, account_id: accountId },
      { client_uuid: CLIENT_ID, account_id: accountId, signature: "zz" },
    ];
    for (const params of attempts) {
      const response = await revoke(revokeRequest(params));
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: { code: "invalid_signature", message: expect.any(String) } });
    }

    expect(await db().account.findUniqueOrThrow({ where: { id: installed.accountId } })).toEqual(before);
    expect(await jobsOf(syncLeadJob.name, installed.accountId)).toHaveLength(2);
  });

  it("disconnects the account on a signed call Kommo backs: tokens, Klaviyo key and queued syncs are gone", async () => {
    const installed = await connectedAccount();
    const bystander = await connectedAccount();
    const accountId = String(installed.kommoAccountId);
    const hook = kommo.uninstall(installed.kommoAccountId);
    expect(hook.get("signature")).toBe(sign(CLIENT_SECRET, `${CLIENT_ID}|${accountId}`));

    const response = await revoke(revokeRequest(hook));

    expect(response.status).toBe(200);
    const row = await db().account.findUniqueOrThrow({ where: { id: installed.accountId } });
    expect(row).toMatchObject({
      status: "disconnected",
      accessTokenEnc: null,
      refreshTokenEnc: null,
      accessTokenExpiresAt: null,
      klaviyoApiKeyEnc: null,
      klaviyoKeyHint: null,
      klaviyoAccountId: null,
      klaviyoAccountName: null,
    });
    expect(row.statusReason).toContain("revoked in Kommo");
    expect(row.disconnectedAt).toBeInstanceOf(Date);
    expect(await jobsOf(syncLeadJob.name, installed.accountId)).toHaveLength(0);
    // Another account is untouched.
    expect(await jobsOf(syncLeadJob.name, bystander.accountId)).toHaveLength(2);
    expect((await db().account.findUniqueOrThrow({ where: { id: bystander.accountId } })).status).toBe("installed");

    // Nothing can call Kommo for it any more, and its webhooks are answered but not recorded.
    await expect(kommoClientFor(installed.accountId)).rejects.toMatchObject({ code: "kommo_disconnected", retryable: false });
    const lead = kommo.seedLead(installed.kommoAccountId, {
      name: "Late deal",
      pipelineId: kommo.seedPipeline(installed.kommoAccountId, { name: "Sales", stages: ["New"] }).id,
      statusId: 142,
    });
    const late = await fireWebhook(
      (request) => webhook(request, { params: Promise.resolve({ hookKey: installed.hookKey }) }),
      kommo.leadWebhookBody(installed.kommoAccountId, lead.id, "status"),
    );
    expect(late.status).toBe(200);
    expect(await db().inboundEvent.count({ where: { accountId: installed.accountId } })).toBe(0);
    expect(await jobsOf(syncLeadJob.name, installed.accountId)).toHaveLength(0);
  });

  it("ignores a revoke hook replayed after a reinstall: the new install keeps its tokens, key and queue", async () => {
    const installed = await connectedAccount();
    const hook = kommo.uninstall(installed.kommoAccountId);
    expect((await revoke(revokeRequest(hook))).status).toBe(200);
    expect((await db().account.findUniqueOrThrow({ where: { id: installed.accountId } })).status).toBe("disconnected");

    await reinstall(installed);
    await withKlaviyoAndQueue(installed);

    // Someone who saw the hook URL (a proxy log, say) sends it again.
    const replay = await revoke(revokeRequest(hook));
    expect(replay.status).toBe(409);
    expect(await replay.json()).toEqual({ error: { code: "revoke_not_confirmed", message: expect.any(String) } });
    await expectUntouched(installed);
  });

  it("ignores a signed hook while Kommo still grants access, and asks Kommo with a refreshed token", async () => {
    const installed = await connectedAccount();
    const accountId = String(installed.kommoAccountId);
    kommo.resetCounters();

    const response = await revoke(revokeRequest({ client_uuid: CLIENT_ID, account_id: accountId, signature: sign(CLIENT_SECRET, `${CLIENT_ID}|${accountId}`) }));

    expect(response.status).toBe(409);
    expect(kommo.count("POST /oauth2/access_token", { accountId: installed.kommoAccountId, status: 200 })).toBe(1);
    expect(kommo.count("GET /api/v4/account", { accountId: installed.kommoAccountId, status: 200 })).toBe(1);
    await expectUntouched(installed);
  });

  it("changes nothing when Kommo cannot be asked, and answers 503 so the call may be repeated", async () => {
    const installed = await connectedAccount();
    const accountId = String(installed.kommoAccountId);
    // GET is retried on a 5xx: every attempt fails.
    kommo.failNext({ status: 503, times: 3, route: "GET /api/v4/account" });

    const response = await revoke(revokeRequest({ client_uuid: CLIENT_ID, account_id: accountId, signature: sign(CLIENT_SECRET, `${CLIENT_ID}|${accountId}`) }));

    expect(response.status).toBe(503);
    expect(kommo.count("GET /api/v4/account", { accountId: installed.kommoAccountId, status: 503 })).toBe(3);
    await expectUntouched(installed);
  });

  it("disconnects when only the API refuses the token (the refresh still worked)", async () => {
    const installed = await connectedAccount();
    const accountId = String(installed.kommoAccountId);
    // Every read is refused: the first, the one after the client's own refresh, and the client's
    // confirming read after one more refresh (a single 401 after a refresh is not a verdict).
    kommo.failNext({ status: 401, times: 3, route: "GET /api/v4/account" });

    const response = await revoke(revokeRequest({ client_uuid: CLIENT_ID, account_id: accountId, signature: sign(CLIENT_SECRET, `${CLIENT_ID}|${accountId}`) }));

    expect(response.status).toBe(200);
    expect(await db().account.findUniqueOrThrow({ where: { id: installed.accountId } })).toMatchObject({ status: "disconnected", klaviyoApiKeyEnc: null });
  });

  it("answers 200 to a signed call for an account it never had", async () => {
    const unknown = String(newKommoAccountId());
    const response = await revoke(revokeRequest({ client_uuid: CLIENT_ID, account_id: unknown, signature: sign(CLIENT_SECRET, `${CLIENT_ID}|${unknown}`) }));
    expect(response.status).toBe(200);
  });
});
