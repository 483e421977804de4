// Klaviyo system webhooks into the activity store: signed deliveries are taken once, anything
// unsigned, stale, replayed or malformed is refused with a clear status and leaves nothing behind,
// and the poll that follows notes the event once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as klaviyoWebhook } from "@/app/api/klaviyo/webhooks/[hookKey]/route";
import { klaviyoHookKey, klaviyoWebhookRegistration, klaviyoWebhookSecret } from "@/lib/features/activity/klaviyo-webhook";
import { pollAccountActivity } from "@/lib/features/activity/poll";
import { db } from "@/lib/db/client";
import { connectKlaviyo, syncedDeal, startSimulators, stopSimulators } from "./account-fixtures";
import { installAccount, jobsOf, sql, type InstalledAccount } from "./kommo-fixtures";
import { systemWebhookDelivery, type KlaviyoSimulator, type SimAccount, type SystemWebhookDelivery } from "../simulators/klaviyo";
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
