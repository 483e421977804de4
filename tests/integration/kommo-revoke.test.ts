// GET /api/kommo/revoke: a correctly signed hook disconnects the account (tokens, Klaviyo key and
// queued syncs gone); a forged one changes nothing.
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

let kommo: KommoSimulator;

beforeAll(async () => {
  kommo = await startKommo();
});

afterAll(async () => {
  await closeConnections(kommo);
});

const sign = (secret: string, message: string) => createHmac("sha256", secret).update(message).digest("hex");

function revokeRequest(params: { client_uuid?: string; account_id?: string; signature?: string }) {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value !== undefined) as [string, string][]);
  return new Request(`${process.env.APP_URL}/api/kommo/revoke?${query}`, { headers: { "User-Agent": "amoService-oAuth-Code-Sender/1.0" } });
}

/** An installed account that also has a Klaviyo key and queued syncs. */
async function connectedAccount(): Promise<InstalledAccount> {
  const installed = await installAccount(kommo);
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
  return installed;
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

  it("disconnects the account on a signed call: tokens, Klaviyo key and queued syncs are gone", async () => {
    const installed = await connectedAccount();
    const bystander = await connectedAccount();
    const accountId = String(installed.kommoAccountId);

    const response = await revoke(revokeRequest({ client_uuid: CLIENT_ID, account_id: accountId, signature: sign(CLIENT_SECRET, `${CLIENT_ID}|${accountId}`) }));

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

  it("answers 200 to a signed call for an account it never had", async () => {
    const unknown = String(newKommoAccountId());
    const response = await revoke(revokeRequest({ client_uuid: CLIENT_ID, account_id: unknown, signature: sign(CLIENT_SECRET, `${CLIENT_ID}|${unknown}`) }));
    expect(response.status).toBe(200);
  });
});
