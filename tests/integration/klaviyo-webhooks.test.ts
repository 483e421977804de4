// Klaviyo system webhooks into the activity store: signed deliveries are taken once, anything
// unsigned, stale, replayed or malformed is refused with a clear status and leaves nothing behind,
// and the poll that follows notes the event once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as klaviyoWebhook } from "@/app/api/klaviyo/webhooks/[hookKey]/route";
import { klaviyoHookKey, klaviyoWebhookRegistration, klaviyoWebhookSecret } from "@/lib/features/activity/klaviyo-webhook";
import { pollAccountActivity } from "@/lib/features/activity/poll";
import { db } from "@/lib/db/client";
import { GET as getSettings } from "@/app/api/widget/settings/route";
import { disconnectAccount } from "@/lib/features/install/revoke";
import { resetEnvForTests } from "@/lib/platform/env";
import { callWidget, connectKlaviyo, syncedDeal, startSimulators, stopSimulators, type RouteHandler } from "./account-fixtures";
import { installAccount, jobsOf, sql, type InstalledAccount } from "./kommo-fixtures";
import { ALL_SCOPES, systemWebhookDelivery, type KlaviyoSimulator, type SimAccount, type SystemWebhookDelivery } from "../simulators/klaviyo";
import type { KommoSimulator } from "../simulators/kommo";

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
let installed: InstalledAccount;
let store: SimAccount;
let leadId: number;

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators());
  installed = await installAccount(kommo);
  store = klaviyo.createAccount("Webhook store");
  klaviyo.addKey("pk_webhooks_0123456789abcd", { account: store });
  await connectKlaviyo(kommo, installed, "pk_webhooks_0123456789abcd");
  const pipeline = kommo.seedPipeline(installed.kommoAccountId, { name: "Sales", stages: ["Talks"] });
  const talks = pipeline.statuses.find((status) => status.name === "Talks")!.id;
  const contact = kommo.seedContact(installed.kommoAccountId, { firstName: "Ada", lastName: "L", emails: ["ada@example.com"] });
  leadId = kommo.seedLead(installed.kommoAccountId, { name: "Ada's deal", pipelineId: pipeline.id, statusId: talks, contactIds: [contact.id] }).id;
  const profile = store.upsert({ attributes: { email: "ada@example.com" } });
  if (profile.kind !== "ok") throw new Error("no profile");
  await syncedDeal({ accountId: installed.accountId, leadId, contactId: contact.id, email: "ada@example.com", profileId: profile.profile.id, pipelineId: pipeline.id, statusId: talks });
});

afterAll(async () => {
  await sql(`UPDATE "Account" SET paused = true WHERE id = $1`, [installed.accountId]);
  await stopSimulators({ kommo, klaviyo });
});

async function send(delivery: SystemWebhookDelivery, hookKey = klaviyoHookKey(installed.accountId)) {
  const response = await klaviyoWebhook(new Request(`http://127.0.0.1/api/klaviyo/webhooks/${hookKey}`, { method: "POST", headers: delivery.headers, body: delivery.body }), {
    params: Promise.resolve({ hookKey }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const stored = () => db().emailActivity.count({ where: { accountId: installed.accountId } });

describe("Klaviyo system webhooks", () => {
  it("gives the account a URL and a secret derived for it alone", () => {
    const registration = klaviyoWebhookRegistration(installed.accountId);
    expect(registration.endpointUrl).toBe(`${process.env.APP_URL}/api/klaviyo/webhooks/${klaviyoHookKey(installed.accountId)}`);
    expect(registration.secretKey.length).toBeGreaterThanOrEqual(16);
    expect(klaviyoWebhookSecret(installed.accountId)).not.toBe(klaviyoWebhookSecret("00000000-0000-4000-8000-000000000000"));
  });

  it("refuses deliveries that are not Klaviyo's for this account, and keeps nothing of them", async () => {
    const event = store.seedEvent({ metric: "Opened Email", email: "ada@example.com", properties: { Subject: "Forged" } });
    const secret = klaviyoWebhookSecret(installed.accountId);
    const good = () => systemWebhookDelivery(store, [event], { secret });

    expect((await send({ ...good(), headers: { ...good().headers, "Klaviyo-Signature": "0".repeat(64) } })).status).toBe(401);
    expect((await send(systemWebhookDelivery(store, [event], { secret: "not-the-secret-of-this-account" }))).status).toBe(401);
    const stale = systemWebhookDelivery(store, [event], { secret, sentAt: new Date(Date.now() - 6 * 60_000) });
    expect(await send(stale)).toMatchObject({ status: 401, body: { error: { code: "stale_delivery" } } });
    const otherKey = `${installed.accountId}.${"A".repeat(43)}`;
    expect((await send(good(), otherKey)).status).toBe(404);
    expect((await send(good(), "nonsense")).status).toBe(404);
    const tampered = good();
    expect((await send({ ...tampered, body: tampered.body.replace("Forged", "Changed") })).status).toBe(401);
    const mismatch = good();
    expect(await send({ ...mismatch, headers: { ...mismatch.headers, "Klaviyo-Webhook-Id": "another-webhook" } })).toMatchObject({ status: 400, body: { error: { code: "webhook_mismatch" } } });
    expect(await stored()).toBe(0);
  });

  it("stores a signed delivery's email events once, queues the notes, and the poll notes each event once", async () => {
    const secret = klaviyoWebhookSecret(installed.accountId);
    const ours = store.seedEvent({ metric: "Clicked Email", email: "ada@example.com", properties: { Subject: "Spring offer" } });
    const stranger = store.seedEvent({ metric: "Clicked Email", email: "stranger@example.com", properties: { Subject: "Spring offer" } });
    const other = store.seedEvent({ metric: "Subscribed to List", email: "ada@example.com" });
    const before = await stored();

    expect(await send(systemWebhookDelivery(store, [ours, stranger, other], { secret }))).toEqual({ status: 200, body: { received: true, stored: 1 } });
    expect(await stored()).toBe(before + 1);
    expect((await jobsOf("activity-poll", installed.accountId)).filter((job) => job.state === "created")).toHaveLength(1);
    // Klaviyo delivers again (at least once): the same event is not stored twice.
    expect(await send(systemWebhookDelivery(store, [ours], { secret }))).toEqual({ status: 200, body: { received: true, stored: 0 } });

    await pollAccountActivity(installed.accountId);
    await pollAccountActivity(installed.accountId);
    const notes = kommo.account(installed.kommoAccountId).notes.filter((note) => String(note.params.text).startsWith('Clicked a link in email "Spring offer" — '));
    expect(notes.map((note) => note.entity_id)).toEqual([leadId]);
  });

  it("answers 400 to a signed body that is not a delivery", async () => {
    const secret = klaviyoWebhookSecret(installed.accountId);
    const timestamp = new Date().toUTCString();
    for (const body of ["{not json", JSON.stringify({ data: [{ topic: "event:klaviyo.opened_email", payload: { nothing: true } }] })]) {
      const { createHmac } = await import("node:crypto");
      const signature = createHmac("sha256", secret).update(body + timestamp).digest("hex");
      const answer = await send({ body, headers: { "Content-Type": "application/json", "Klaviyo-Timestamp": timestamp, "Klaviyo-Signature": signature } });
      expect(answer).toMatchObject({ status: 400, body: { error: { code: "malformed_body" } } });
    }
  });
});

describe("registering the product's webhook in Klaviyo", () => {
  const HTTPS_APP_URL = "https://sync.example.test";
  let account: InstalledAccount;
  let plain: InstalledAccount;
  let kdp: SimAccount;

  beforeAll(async () => {
    // Installed with the test's own address (Kommo checks the redirect URI), then served over https.
    account = await installAccount(kommo);
    plain = await installAccount(kommo);
    process.env.APP_URL = HTTPS_APP_URL;
    resetEnvForTests();
    kdp = klaviyo.createAccount("Advanced KDP store");
    kdp.webhooksApi = true;
    klaviyo.addKey("pk_webhooks_kdp_0123456789", { account: kdp, scopes: ALL_SCOPES });
    klaviyo.addKey("pk_webhooks_kdp_replaced_01", { account: kdp, scopes: ALL_SCOPES });
    // Every scope this product needs, but not the webhooks ones.
    klaviyo.addKey("pk_webhooks_plain_012345678", { account: kdp, scopes: ALL_SCOPES.filter((scope) => !scope.startsWith("webhooks:")) });
  });

  afterAll(async () => {
    await sql(`UPDATE "Account" SET paused = true WHERE id = ANY($1::uuid[])`, [[account.accountId, plain.accountId]]);
    process.env.APP_URL = "http://127.0.0.1:3999";
    resetEnvForTests();
  });

  const settingsMode = async () => ((await callWidget(kommo, account, getSettings as RouteHandler, "GET")).body.klaviyo as { activityMode: string }).activityMode;

  it("registers the signed webhook for the six email topics when a key with webhooks:write is saved; a delivery becomes one note", async () => {
    await connectKlaviyo(kommo, account, "pk_webhooks_kdp_0123456789");
    const registration = klaviyoWebhookRegistration(account.accountId);
    expect(registration.endpointUrl.startsWith(`${HTTPS_APP_URL}/api/klaviyo/webhooks/`)).toBe(true);
    const [webhook, ...others] = [...kdp.webhooks.values()];
    expect(others).toEqual([]);
    expect(webhook).toMatchObject({
      endpointUrl: registration.endpointUrl,
      secretKey: registration.secretKey,
      topics: ["event:klaviyo.received_email", "event:klaviyo.opened_email", "event:klaviyo.clicked_email", "event:klaviyo.bounced_email", "event:klaviyo.marked_email_as_spam", "event:klaviyo.unsubscribed"],
    });
    expect(klaviyo.invalidRequests()).toEqual([]);
    expect(await settingsMode()).toBe("webhooks");

    // A delivery signed with the secret Klaviyo holds: one note, also when the poll sees the event too.
    const pipeline = kommo.seedPipeline(account.kommoAccountId, { name: "Sales", stages: ["Talks"] });
    const talks = pipeline.statuses[0]!.id;
    const contact = kommo.seedContact(account.kommoAccountId, { firstName: "Kay", lastName: "D", emails: ["kay@example.com"] });
    const lead = kommo.seedLead(account.kommoAccountId, { name: "Kay's deal", pipelineId: pipeline.id, statusId: talks, contactIds: [contact.id] }).id;
    const profile = kdp.upsert({ attributes: { email: "kay@example.com" } });
    if (profile.kind !== "ok") throw new Error("no profile");
    await syncedDeal({ accountId: account.accountId, leadId: lead, contactId: contact.id, email: "kay@example.com", profileId: profile.profile.id, pipelineId: pipeline.id, statusId: talks });
    const opened = kdp.seedEvent({ metric: "Opened Email", email: "kay@example.com", properties: { Subject: "Proposal" } });
    const delivery = systemWebhookDelivery(kdp, [opened], { secret: webhook!.secretKey, webhookId: webhook!.id });
    expect(await send(delivery, klaviyoHookKey(account.accountId))).toEqual({ status: 200, body: { received: true, stored: 1 } });
    await pollAccountActivity(account.accountId);
    await pollAccountActivity(account.accountId);
    const notes = kommo.account(account.kommoAccountId).notes.filter((note) => String(note.params.text).startsWith('Opened email "Proposal" — '));
    expect(notes.map((note) => note.entity_id)).toEqual([lead]);
  });

  it("removes the webhook with the old key when the key is replaced, and when the account uninstalls", async () => {
    const [first] = [...kdp.webhooks.keys()];
    await connectKlaviyo(kommo, account, "pk_webhooks_kdp_replaced_01");
    expect(kdp.webhooks.has(first!)).toBe(false);
    expect(kdp.webhooks.size).toBe(1);
    const deleted = klaviyo.requestsFor("delete_webhook");
    expect(deleted.at(-1)).toMatchObject({ path: `/api/webhooks/${first}`, status: 204, keyHint: "…6789" });

    await disconnectAccount(account.kommoAccountId);
    expect(kdp.webhooks.size).toBe(0);
    expect((await db().account.findUniqueOrThrow({ where: { id: account.accountId } })).klaviyoWebhookId).toBeNull();
  });

  it("keeps polling only, and says so, when the key may not use the Webhooks API", async () => {
    await connectKlaviyo(kommo, plain, "pk_webhooks_plain_012345678");
    expect(await db().account.findUniqueOrThrow({ where: { id: plain.accountId } })).toMatchObject({ klaviyoWebhookId: null });
    expect(((await callWidget(kommo, plain, getSettings as RouteHandler, "GET")).body.klaviyo as { activityMode: string }).activityMode).toBe("polling");
  });
});
