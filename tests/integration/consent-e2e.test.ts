// Consent both ways, end to end against both simulators with the real queue and worker: a contact's
// opt-in box turned on in Kommo subscribes the email once (list, custom source), a person turning it
// off unsubscribes once, and Klaviyo's report of an unsubscribe comes back as the contact's
// "Klaviyo email status" and the box turned off, without the product's own write being taken for a
// new opt-out or opt-in. Nothing else ever calls a subscription endpoint.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PUT as putSettings, GET as getSettings } from "@/app/api/widget/settings/route";
import { POST as postBackfill } from "@/app/api/widget/backfill/route";
import { db, numberIds } from "@/lib/db/client";
import { dealActivity } from "@/lib/features/widget-api/activity";
import { pollAccountActivity } from "@/lib/features/activity/poll";
import { writeConsentToKommo } from "@/lib/features/consent/write-job";
import { ALL_JOBS } from "@/lib/worker";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { callWidget, startSimulators, stopSimulators } from "./account-fixtures";
import { deliverCrmWebhook, installAccount, sql, type InstalledAccount } from "./kommo-fixtures";
import { ALL_SCOPES, emailMarketing, subscriptionJobs, unsubscribeAsRecipient, type KlaviyoSimulator, type SimAccount } from "../simulators/klaviyo";
import type { KommoSimulator } from "../simulators/kommo";

type RouteHandler = Parameters<typeof callWidget>[2];

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators());
  worker = await startWorker({ databaseUrl: process.env.DATABASE_URL!, jobs: ALL_JOBS, log: pino({ level: "silent" }), concurrency: 2 });
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 2000 });
  await stopSimulators({ kommo, klaviyo });
});

async function until<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** No sync, consent or write job of the account waiting or running, and every webhook change applied. */
async function settled(accountId: string) {
  await until("the account's jobs to finish", async () => {
    const [row] = await sql<{ events: string; jobs: string }>(
      `SELECT (SELECT count(*) FROM "InboundEvent" WHERE "accountId" = $1 AND "processedAt" IS NULL) AS events,
              (SELECT count(*) FROM pgboss.job WHERE name IN ('sync-lead', 'consent-contact', 'consent-write') AND data->>'accountId' = $1::text AND state IN ('created', 'retry', 'active')) AS jobs`,
      [accountId],
    );
    return Number(row!.events) === 0 && Number(row!.jobs) === 0;
  });
}

type Scenario = { installed: InstalledAccount; store: SimAccount; optInFieldId: number; textFieldId: number; listId: string; pipelineId: number; stageId: number };

/** Save the account's settings as the admin's panel does; the save must be accepted. */
async function saveSettings(installed: InstalledAccount, settings: Record<string, unknown>): Promise<void> {
  const saved = await callWidget(kommo, installed, putSettings as RouteHandler, "PUT", settings);
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
}

async function setUp(key: string, scopes: readonly string[] = ALL_SCOPES): Promise<Scenario> {
  const installed = await installAccount(kommo);
  const store = klaviyo.createAccount(`Store of ${installed.subdomain}`);
  klaviyo.addKey(key, { scopes, account: store });
  const optIn = kommo.addContactField(installed.kommoAccountId, { name: "Newsletter opt-in", type: "checkbox" });
  const text = kommo.addContactField(installed.kommoAccountId, { name: "Nickname", type: "text" });
  const pipeline = kommo.seedPipeline(installed.kommoAccountId, { name: "Sales", stages: ["Qualified"], isMain: true });
  await saveSettings(installed, { klaviyoApiKey: key });
  return {
    installed,
    store,
    optInFieldId: optIn.id,
    textFieldId: text.id,
    listId: store.createList("Newsletter").id,
    pipelineId: pipeline.id,
    stageId: pipeline.statuses.find((status) => status.name === "Qualified")!.id,
  };
}

const subscriptionCalls = () => klaviyo.requests.filter((request) => request.path.includes("subscription"));

describe("consent both ways", () => {
  it("refuses an opt-in field that is not a contact checkbox, and a key that may not change consent, saving nothing", async () => {
    const scenario = await setUp("pk_consent_checks_0123456789", ALL_SCOPES.filter((scope) => scope !== "subscriptions:write"));
    const put = (consent: Record<string, unknown>) => callWidget(kommo, scenario.installed, putSettings as RouteHandler, "PUT", { consent });

    const text = await put({ optInFieldId: scenario.textFieldId });
    expect(text.status).toBe(422);
    expect(text.body).toMatchObject({ error: { code: "invalid_opt_in_field", message: expect.stringMatching(/"Nickname" is a text field/) } });
    const missing = await put({ optInFieldId: 987654321 });
    expect(missing.status).toBe(422);
    expect(missing.body).toMatchObject({ error: { code: "invalid_opt_in_field", message: expect.stringMatching(/no contact field with id 987654321/) } });
    const scope = await put({ optInFieldId: scenario.optInFieldId, optInListId: scenario.listId });
    expect(scope.status).toBe(422);
    expect(scope.body).toMatchObject({ error: { code: "subscriptions_scope_missing", message: expect.stringMatching(/subscriptions:write.*opt-in stays off/) } });

    const settings = await callWidget(kommo, scenario.installed, getSettings as RouteHandler, "GET");
    expect(settings.body.consent).toEqual({ statusField: false, optInFieldId: null, optInListId: null });
    // The status field needs read scopes only.
    expect((await put({ statusField: true })).status).toBe(200);
    expect(kommo.contactFields(scenario.installed.kommoAccountId).filter((field) => field.code === "KLAVIYO_EMAIL_STATUS")).toHaveLength(1);
    // Asking whether the key may subscribe subscribed no one.
    expect(subscriptionCalls().every((request) => request.status !== 202)).toBe(true);
  });

  it("subscribes once per tick, unsubscribes once per untick, and brings Klaviyo's unsubscribe back to Kommo", async () => {
    const scenario = await setUp("pk_consent_flow_0123456789ab");
    const { installed, store } = scenario;
    const accountId = installed.kommoAccountId;
    await saveSettings(installed, {
      consent: { statusField: true, optInFieldId: scenario.optInFieldId, optInListId: scenario.listId },
    });
    // Turning the status field on twice (or a reinstall) never makes a second field.
    await saveSettings(installed, { consent: { statusField: false } });
    await saveSettings(installed, { consent: { statusField: true } });
    const statusFields = kommo.contactFields(accountId).filter((field) => field.code === "KLAVIYO_EMAIL_STATUS");
    expect(statusFields).toHaveLength(1);
    expect(statusFields[0]).toMatchObject({ type: "select", is_api_only: true });
    expect(statusFields[0]!.enums!.map((entry) => entry.value)).toEqual(["Subscribed", "Not subscribed", "Unsubscribed", "Bounced", "Spam complaint", "Suppressed"]);

    const ada = kommo.seedContact(accountId, { firstName: "Ada", lastName: "Lovelace", emails: ["ada@example.com"] });
    const bob = kommo.seedContact(accountId, { firstName: "Bob", lastName: "Stone", emails: ["bob@example.com"] });
    const adaDeal = kommo.seedLead(accountId, { name: "Ada", pipelineId: scenario.pipelineId, statusId: scenario.stageId, contactIds: [ada.id] });
    const bobDeal = kommo.seedLead(accountId, { name: "Bob", pipelineId: scenario.pipelineId, statusId: scenario.stageId, contactIds: [bob.id] });
    await deliverCrmWebhook(installed.hookKey, kommo.leadWebhookBody(accountId, adaDeal.id, "add"));
    await deliverCrmWebhook(installed.hookKey, kommo.leadWebhookBody(accountId, bobDeal.id, "add"));
    await settled(installed.accountId);
    const jobs = subscriptionJobs(store);
    expect(jobs).toEqual([]);

    // A sales manager ticks Ada's box; Kommo's webhook arrives twice; Bob's contact changes, his box never on.
    kommo.setContactCheckbox(accountId, ada.id, scenario.optInFieldId, true);
    const adaTicked = kommo.contactWebhookBody(accountId, ada.id);
    expect(decodeURIComponent(adaTicked)).toContain(`[id]=${scenario.optInFieldId}`);
    await deliverCrmWebhook(installed.hookKey, adaTicked);
    await deliverCrmWebhook(installed.hookKey, adaTicked);
    await deliverCrmWebhook(installed.hookKey, kommo.contactWebhookBody(accountId, bob.id));
    await settled(installed.accountId);
    expect(jobs).toEqual([
      { kind: "subscribe", emails: ["ada@example.com"], consent: "SUBSCRIBED", listId: scenario.listId, customSource: "Kommo CRM", at: expect.any(Number) },
    ]);
    const log = await db().syncLog.findFirst({ where: { accountId: installed.accountId, trigger: "consent_opt_in" } });
    expect(log?.operations).toEqual([expect.objectContaining({ type: "subscribeEmail", contactId: ada.id, changedBy: expect.any(Number), changedAt: expect.any(String) })]);
    await until("Ada's subscription", () => emailMarketing(store.profileByEmail("ada@example.com")!).consent === "SUBSCRIBED");
    // Bob's status came from his profile: never subscribed.
    await until("Bob's status", () => kommo.contactFieldValues(accountId, bob.id, { code: "KLAVIYO_EMAIL_STATUS" })?.[0] === "Not subscribed");

    // The customer withdraws consent on a call: the manager unticks the box.
    kommo.setContactCheckbox(accountId, ada.id, scenario.optInFieldId, false);
    await deliverCrmWebhook(installed.hookKey, kommo.contactWebhookBody(accountId, ada.id));
    await settled(installed.accountId);
    expect(jobs.map((job) => [job.kind, job.emails, job.listId])).toEqual([
      ["subscribe", ["ada@example.com"], scenario.listId],
      ["unsubscribe", ["ada@example.com"], null],
    ]);

    // She agrees again later: a new explicit consent, a new subscribe.
    kommo.setContactCheckbox(accountId, ada.id, scenario.optInFieldId, true);
    await deliverCrmWebhook(installed.hookKey, kommo.contactWebhookBody(accountId, ada.id));
    await settled(installed.accountId);
    expect(jobs.filter((job) => job.kind === "subscribe")).toHaveLength(2);
    await until("Ada's second subscription", () => emailMarketing(store.profileByEmail("ada@example.com")!).suppression.length === 0 && emailMarketing(store.profileByEmail("ada@example.com")!).consent === "SUBSCRIBED");

    // She unsubscribes from an email in Klaviyo: within two polls Kommo shows it and her box is off.
    unsubscribeAsRecipient(store, "ada@example.com");
    for (let poll = 0; poll < 2; poll++) {
      await pollAccountActivity(installed.accountId);
      await settled(installed.accountId);
    }
    expect(kommo.contactFieldValues(accountId, ada.id, { code: "KLAVIYO_EMAIL_STATUS" })).toEqual(["Unsubscribed"]);
    expect(kommo.contactFieldValues(accountId, ada.id, { id: scenario.optInFieldId })).toEqual([false]);
    // The deal card's pane says the same.
    const account = numberIds(await db().account.findUniqueOrThrow({ where: { id: installed.accountId } }));
    expect((await dealActivity(account, adaDeal.id)).consent).toEqual({ status: "unsubscribed", canReceiveEmail: false });
    expect((await dealActivity(account, bobDeal.id)).consent).toEqual({ status: "not_subscribed", canReceiveEmail: true });

    // Kommo reports the product's own write as a contact change; then the deal moves on. Neither
    // is a new opt-out or opt-in.
    await deliverCrmWebhook(installed.hookKey, kommo.contactWebhookBody(accountId, ada.id));
    kommo.updateLead(accountId, adaDeal.id, { price: 900 });
    await deliverCrmWebhook(installed.hookKey, kommo.leadWebhookBody(accountId, adaDeal.id, "update"));
    await settled(installed.accountId);
    expect(jobs.map((job) => job.kind)).toEqual(["subscribe", "unsubscribe", "subscribe"]);
    expect(subscriptionCalls().filter((request) => request.status === 202)).toHaveLength(3);
    // The status is written once per change, never again for the same value.
    const patches = kommo.requests.filter((request) => request.route === "PATCH /api/v4/contacts" && request.accountId === accountId);
    await pollAccountActivity(installed.accountId);
    await settled(installed.accountId);
    expect(kommo.requests.filter((request) => request.route === "PATCH /api/v4/contacts" && request.accountId === accountId)).toHaveLength(patches.length);
  });

  it("an import subscribes a box already on once, fills the status of imported contacts, and never resubscribes a suppressed profile", async () => {
    const scenario = await setUp("pk_consent_backfill_0123456789");
    const { installed, store } = scenario;
    const accountId = installed.kommoAccountId;
    const lastImportDone = async () => (await db().backfillRun.findFirst({ where: { accountId: installed.accountId }, orderBy: { createdAt: "desc" } }))?.status === "completed";
    // Saving the key started the import of the (empty) account.
    await until("the first import", lastImportDone, 60_000);
    const mapped = store.createList("Qualified leads").id;
    await saveSettings(installed, {
      stageLists: [{ pipelineId: scenario.pipelineId, statusId: scenario.stageId, listId: mapped }],
      consent: { statusField: true, optInFieldId: scenario.optInFieldId, optInListId: scenario.listId },
    });
    // Cleo's box was ticked before the product was installed; Dan unsubscribed in Klaviyo long ago.
    const cleo = kommo.seedContact(accountId, { firstName: "Cleo", lastName: "Park", emails: ["cleo@example.com"] });
    kommo.setContactCheckbox(accountId, cleo.id, scenario.optInFieldId, true);
    const dan = kommo.seedContact(accountId, { firstName: "Dan", lastName: "Reyes", emails: ["dan@example.com"] });
    store.seedEvent({ metric: "Received Email", email: "dan@example.com" });
    unsubscribeAsRecipient(store, "dan@example.com");
    const danDeal = kommo.seedLead(accountId, { name: "Dan", pipelineId: scenario.pipelineId, statusId: scenario.stageId, contactIds: [dan.id] });
    kommo.seedLead(accountId, { name: "Cleo", pipelineId: scenario.pipelineId, statusId: scenario.stageId, contactIds: [cleo.id] });

    const importOnce = async () => {
      expect((await callWidget(kommo, installed, postBackfill as RouteHandler, "POST", {})).status).toBeLessThan(300);
      await until("the import", lastImportDone, 60_000);
      await settled(installed.accountId);
    };
    await importOnce();
    const jobs = subscriptionJobs(store);
    expect(jobs.map((job) => [job.kind, job.emails, job.listId, job.customSource])).toEqual([["subscribe", ["cleo@example.com"], scenario.listId, "Kommo CRM"]]);
    expect(kommo.contactFieldValues(accountId, dan.id, { code: "KLAVIYO_EMAIL_STATUS" })).toEqual(["Unsubscribed"]);
    // The list mapping made Dan a member, which is not consent: he stays unsubscribed.
    expect(store.membersOf(mapped).map((profile) => profile.email).sort()).toEqual(["cleo@example.com", "dan@example.com"]);

    // A second import, and a live sync of Dan's deal, send nothing to a subscription endpoint.
    await importOnce();
    kommo.updateLead(accountId, danDeal.id, { price: 50 });
    await deliverCrmWebhook(installed.hookKey, kommo.leadWebhookBody(accountId, danDeal.id, "update"));
    await settled(installed.accountId);
    expect(jobs).toHaveLength(1);
    expect(emailMarketing(store.profileByEmail("dan@example.com")!)).toMatchObject({ consent: "UNSUBSCRIBED", suppression: [{ reason: "UNSUBSCRIBE" }] });
  });

  it("a box ticked without a contact webhook is subscribed once by the next deal sync that reads the contact from Kommo", async () => {
    const scenario = await setUp("pk_consent_dealsync_01234567");
    const { installed, store } = scenario;
    const accountId = installed.kommoAccountId;
    await saveSettings(installed, {
      consent: { optInFieldId: scenario.optInFieldId, optInListId: scenario.listId },
    });
    // Gil unsubscribed in Klaviyo; his box stays off.
    const eve = kommo.seedContact(accountId, { firstName: "Eve", lastName: "Moss", emails: ["eve@example.com"] });
    const gil = kommo.seedContact(accountId, { firstName: "Gil", lastName: "Hart", emails: ["gil@example.com"] });
    store.seedEvent({ metric: "Received Email", email: "gil@example.com" });
    unsubscribeAsRecipient(store, "gil@example.com");
    const eveDeal = kommo.seedLead(accountId, { name: "Eve", pipelineId: scenario.pipelineId, statusId: scenario.stageId, contactIds: [eve.id] });
    const gilDeal = kommo.seedLead(accountId, { name: "Gil", pipelineId: scenario.pipelineId, statusId: scenario.stageId, contactIds: [gil.id] });
    await deliverCrmWebhook(installed.hookKey, kommo.leadWebhookBody(accountId, eveDeal.id, "add"));
    await deliverCrmWebhook(installed.hookKey, kommo.leadWebhookBody(accountId, gilDeal.id, "add"));
    await settled(installed.accountId);
    const jobs = subscriptionJobs(store);
    expect(jobs).toEqual([]);

    const moveDeals = async (price: number) => {
      for (const deal of [eveDeal, gilDeal]) {
        kommo.updateLead(accountId, deal.id, { price });
        await deliverCrmWebhook(installed.hookKey, kommo.leadWebhookBody(accountId, deal.id, "update"));
      }
      await settled(installed.accountId);
    };
    const expireContactCache = () => sql(`UPDATE "KommoContactCache" SET "readAt" = now() - interval '1 day' WHERE "accountId" = $1`, [installed.accountId]);

    // A manager ticks Eve's box and Kommo's contact webhook never arrives. A sync that takes the
    // contact from the cache knows nothing of the box.
    kommo.setContactCheckbox(accountId, eve.id, scenario.optInFieldId, true);
    await moveDeals(100);
    expect(jobs).toEqual([]);
    // The next sync that reads the contact from Kommo subscribes her, once.
    await expireContactCache();
    await moveDeals(200);
    expect(jobs).toEqual([
      { kind: "subscribe", emails: ["eve@example.com"], consent: "SUBSCRIBED", listId: scenario.listId, customSource: "Kommo CRM", at: expect.any(Number) },
    ]);
    const log = await db().syncLog.findMany({ where: { accountId: installed.accountId, trigger: "consent_opt_in" } });
    expect(log.map((row) => row.operations)).toEqual([[expect.objectContaining({ type: "subscribeEmail", contactId: eve.id })]]);
    await until("Eve's subscription", () => emailMarketing(store.profileByEmail("eve@example.com")!).consent === "SUBSCRIBED");

    // Later syncs reading both contacts from Kommo again send nothing: Eve's tick is done, Gil's box is off.
    await expireContactCache();
    await moveDeals(300);
    expect(jobs).toHaveLength(1);
    expect(emailMarketing(store.profileByEmail("gil@example.com")!)).toMatchObject({ consent: "UNSUBSCRIBED", suppression: [{ reason: "UNSUBSCRIBE" }] });
  });

  it("a spam complaint in Klaviyo shows as the contact's status, turns the box off and is noted on the deal", async () => {
    const scenario = await setUp("pk_consent_spam_0123456789ab");
    const { installed, store } = scenario;
    const accountId = installed.kommoAccountId;
    await saveSettings(installed, {
      consent: { statusField: true, optInFieldId: scenario.optInFieldId, optInListId: scenario.listId },
    });
    const hal = kommo.seedContact(accountId, { firstName: "Hal", lastName: "Quinn", emails: ["hal@example.com"] });
    kommo.setContactCheckbox(accountId, hal.id, scenario.optInFieldId, true);
    const halDeal = kommo.seedLead(accountId, { name: "Hal", pipelineId: scenario.pipelineId, statusId: scenario.stageId, contactIds: [hal.id] });
    await deliverCrmWebhook(installed.hookKey, kommo.leadWebhookBody(accountId, halDeal.id, "add"));
    await settled(installed.accountId);
    await until("Hal's subscription", () => emailMarketing(store.profileByEmail("hal@example.com")!).consent === "SUBSCRIBED");

    // Hal reports a campaign email as spam: Klaviyo suppresses him and records the event.
    emailMarketing(store.profileByEmail("hal@example.com")!).suppression.push({ reason: "SPAM_COMPLAINT", timestamp: new Date().toISOString() });
    store.seedEvent({ metric: "Marked Email as Spam", email: "hal@example.com", properties: { Subject: "Spring offer" } });
    for (let poll = 0; poll < 2; poll++) {
      await pollAccountActivity(installed.accountId);
      await settled(installed.accountId);
    }
    expect(kommo.contactFieldValues(accountId, hal.id, { code: "KLAVIYO_EMAIL_STATUS" })).toEqual(["Spam complaint"]);
    expect(kommo.contactFieldValues(accountId, hal.id, { id: scenario.optInFieldId })).toEqual([false]);
    const account = numberIds(await db().account.findUniqueOrThrow({ where: { id: installed.accountId } }));
    expect((await dealActivity(account, halDeal.id)).consent).toEqual({ status: "spam_complaint", canReceiveEmail: false });
    const notes = kommo.account(accountId).notes.filter((note) => note.entity_id === halDeal.id).map((note) => String(note.params.text));
    expect(notes).toEqual([expect.stringMatching(/^Marked email "Spring offer" as spam/)]);
    // The product's own write of the box is not a new opt-out: nothing is sent to Klaviyo.
    expect(subscriptionJobs(store).map((job) => job.kind)).toEqual(["subscribe"]);
  });

  it("a status field an admin deleted is made again once; a write Kommo keeps refusing is logged with its reason, never sent in a loop", async () => {
    const scenario = await setUp("pk_consent_refusals_012345678");
    const { installed } = scenario;
    const accountId = installed.kommoAccountId;
    await saveSettings(installed, { consent: { statusField: true } });
    const fields = kommo.contactFields(accountId);
    const first = fields.find((field) => field.code === "KLAVIYO_EMAIL_STATUS")!;
    const eve = kommo.seedContact(accountId, { firstName: "Eve", lastName: "Moss", emails: ["eve@example.com"] });
    await db().consentContact.create({ data: { accountId: installed.accountId, contactId: eve.id, email: "eve@example.com", status: "bounced", statusAt: new Date() } });
    const patches = () => kommo.requests.filter((request) => request.route === "PATCH /api/v4/contacts" && request.accountId === accountId).length;

    // An admin deletes the field: Kommo refuses the write (400), the field is looked up, made again, written.
    fields.splice(fields.indexOf(first), 1);
    expect(await writeConsentToKommo(installed.accountId)).toEqual({ written: 1, refused: 0 });
    const remade = kommo.contactFields(accountId).filter((field) => field.code === "KLAVIYO_EMAIL_STATUS");
    expect(remade).toHaveLength(1);
    expect(remade[0]!.id).not.toBe(first.id);
    expect(kommo.contactFieldValues(accountId, eve.id, { code: "KLAVIYO_EMAIL_STATUS" })).toEqual(["Bounced"]);
    expect(patches()).toBe(2);

    // Kommo refuses again after the look-up: logged with what to do, and not retried by itself.
    await db().consentContact.updateMany({ where: { accountId: installed.accountId, contactId: eve.id }, data: { status: "unsubscribed" } });
    kommo.failNext({ status: 400, times: 2, route: "PATCH /api/v4/contacts" });
    expect(await writeConsentToKommo(installed.accountId)).toEqual({ written: 0, refused: 1 });
    expect(patches()).toBe(4);
    const row = await db().consentContact.findFirstOrThrow({ where: { accountId: installed.accountId, contactId: eve.id } });
    expect(row.writeError).toMatch(/answered 400.*Kommo refused the "Klaviyo email status" field/);
    expect(await writeConsentToKommo(installed.accountId)).toEqual({ written: 0, refused: 0 });
    expect(patches()).toBe(4);
  });
});
