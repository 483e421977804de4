// Klaviyo email activity back to Kommo, against both simulators over HTTP: the events of our deals'
// contacts become one note each on the right deals, never twice (repeated polls, a worker
// restarted, Kommo refusing a batch for a while), and a big sender's traffic for people who are
// not in the CRM costs pages of events and nothing else.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueActivityPoll, pollAccountActivity, activityPollJob } from "@/lib/features/activity/poll";
import { resetEnvForTests } from "@/lib/platform/env";
import { db } from "@/lib/db/client";
import { senderBoss } from "@/lib/jobs/boss";
import { startWorker } from "@/lib/jobs/worker";
import { connectKlaviyo, syncedDeal, startSimulators, stopSimulators } from "./account-fixtures";
import { installAccount, sql, type InstalledAccount } from "./kommo-fixtures";
import type { KlaviyoSimulator, SimAccount } from "../simulators/klaviyo";
import { LOST, WON, type KommoSimulator } from "../simulators/kommo";

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
const accounts: string[] = [];

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators({ jobDelayMs: 20 }));
});

afterAll(async () => {
  // Leave nothing due for later test files' workers: these accounts' simulators are about to go.
  await sql(`UPDATE "Account" SET paused = true WHERE id = ANY($1::uuid[])`, [accounts]);
  await stopSimulators({ kommo, klaviyo });
});

type Setup = { installed: InstalledAccount; store: SimAccount; leads: { adaOpen: number; adaWon: number; bobWon: number; bobLost: number } };

/**
 * Ada has an open deal and a won one; Bob has only closed deals, the lost one closed last.
 * Both are synced (deal rows and profile links as the sync job leaves them).
 */
async function setUp(key: string, settings: Record<string, unknown> = {}, locale: { language?: string; timezone?: string } = {}): Promise<Setup> {
  const installed = await installAccount(kommo, locale);
  accounts.push(installed.accountId);
  const store = klaviyo.createAccount(`Store ${installed.subdomain}`);
  klaviyo.addKey(key, { account: store });
  await connectKlaviyo(kommo, installed, key, settings);
  const accountId = installed.kommoAccountId;
  const pipeline = kommo.seedPipeline(accountId, { name: "Sales", stages: ["Negotiation"] });
  const negotiation = pipeline.statuses.find((status) => status.name === "Negotiation")!.id;
  const ada = kommo.seedContact(accountId, { firstName: "Ada", lastName: "Lovelace", emails: ["ada@example.com"] });
  const bob = kommo.seedContact(accountId, { firstName: "Bob", lastName: "Stone", emails: ["bob@example.com"] });
  const lead = (name: string, statusId: number, contactId: number) => kommo.seedLead(accountId, { name, pipelineId: pipeline.id, statusId, contactIds: [contactId] }).id;
  const leads = {
    adaOpen: lead("Ada - robots", negotiation, ada.id),
    adaWon: lead("Ada - spare parts", WON, ada.id),
    bobWon: lead("Bob - first order", WON, bob.id),
    bobLost: lead("Bob - second order", LOST, bob.id),
  };
  const adaProfile = store.upsert({ attributes: { email: "ada@example.com" } });
  const bobProfile = store.upsert({ attributes: { email: "bob@example.com" } });
  if (adaProfile.kind !== "ok" || bobProfile.kind !== "ok") throw new Error("profiles not created");
  const common = { accountId: installed.accountId, pipelineId: pipeline.id };
  const days = (n: number) => new Date(Date.now() - n * 86_400_000);
  await syncedDeal({ ...common, leadId: leads.adaOpen, contactId: ada.id, email: "ada@example.com", profileId: adaProfile.profile.id, statusId: negotiation });
  await syncedDeal({ ...common, leadId: leads.adaWon, contactId: ada.id, email: "ada@example.com", profileId: adaProfile.profile.id, statusId: WON, closedAt: days(3) });
  await syncedDeal({ ...common, leadId: leads.bobWon, contactId: bob.id, email: "bob@example.com", profileId: bobProfile.profile.id, statusId: WON, closedAt: days(20) });
  await syncedDeal({ ...common, leadId: leads.bobLost, contactId: bob.id, email: "bob@example.com", profileId: bobProfile.profile.id, statusId: LOST, closedAt: days(2) });
  return { installed, store, leads };
}

const notesOf = (setup: Setup) =>
  kommo
    .account(setup.installed.kommoAccountId)
    // The sentence without the time it ends with (" — Dec 2, 2026, 2:05 PM UTC"), which these tests do not fix.
    .notes.map((note) => ({ leadId: note.entity_id, type: note.note_type, service: note.params.service, text: sentenceOf(note.params.text) }))
    .sort((a, b) => a.leadId - b.leadId || String(a.text).localeCompare(String(b.text)));

const sentenceOf = (text: unknown) => String(text).replace(/ — [^—]*$/, "");

const noteRequests = (setup: Setup) => kommo.count("POST /api/v4/leads/notes", { accountId: setup.installed.kommoAccountId });

describe("email activity to Kommo notes", () => {
  it("writes one note per Klaviyo event on the contact's open deals, else on its last closed deal, once", async () => {
    const setup = await setUp("pk_activity_once_0123456789");
    const { store, leads } = setup;
    const secondsAgo = (n: number) => new Date(Date.now() - n * 1000);
    store.seedEvent({ metric: "Received Email", email: "ada@example.com", datetime: secondsAgo(50), properties: { Subject: "Welcome to ACME", "Campaign Name": "Onboarding" } });
    store.seedEvent({ metric: "Opened Email", email: "ada@example.com", datetime: secondsAgo(40), properties: { Subject: "Welcome to ACME", "Campaign Name": "Onboarding" } });
    store.seedEvent({ metric: "Clicked Email", email: "ada@example.com", datetime: secondsAgo(39), properties: { Subject: "Welcome to ACME", URL: "https://acme.example/start" } });
    store.seedEvent({ metric: "Bounced Email", email: "bob@example.com", datetime: secondsAgo(30), properties: { Subject: "Your invoice" } });
    store.seedEvent({ metric: "Unsubscribed", email: "bob@example.com", datetime: secondsAgo(20), properties: {} });
    // Not ours: someone who is not a CRM contact, and a metric we do not bring back.
    store.seedEvent({ metric: "Opened Email", email: "stranger@example.com", datetime: secondsAgo(45), properties: { Subject: "Newsletter" } });
    store.seedEvent({ metric: "Subscribed to List", email: "ada@example.com", datetime: secondsAgo(45) });
    // Before the integration was installed: history, not news (the pane starts from the install).
    store.seedEvent({ metric: "Opened Email", email: "ada@example.com", datetime: secondsAgo(2 * 3600), properties: { Subject: "Old news" } });

    const first = await pollAccountActivity(setup.installed.accountId);
    expect(first).toMatchObject({ stored: 5, notes: 5, noteRequests: 1 });
    const expected = [
      { leadId: leads.adaOpen, type: "service_message", service: "Klaviyo", text: 'Clicked a link in email "Welcome to ACME"' },
      { leadId: leads.adaOpen, type: "service_message", service: "Klaviyo", text: 'Opened email "Welcome to ACME" (campaign "Onboarding")' },
      { leadId: leads.adaOpen, type: "service_message", service: "Klaviyo", text: 'Received email "Welcome to ACME" (campaign "Onboarding")' },
      { leadId: leads.bobLost, type: "service_message", service: "Klaviyo", text: 'Email "Your invoice" bounced' },
      { leadId: leads.bobLost, type: "service_message", service: "Klaviyo", text: "Unsubscribed from email marketing" },
    ];
    expect(notesOf(setup)).toEqual(expected);
    expect(noteRequests(setup)).toBe(1);

    // Polling again (the overlap window re-reads the same events) notes nothing twice.
    const second = await pollAccountActivity(setup.installed.accountId);
    expect(second).toMatchObject({ stored: 0, notes: 0, noteRequests: 0 });
    expect(notesOf(setup)).toEqual(expected);

    // The deal-card pane's cache has the events of our contacts only.
    const cached = await db().emailActivity.findMany({ where: { accountId: setup.installed.accountId }, orderBy: { occurredAt: "asc" } });
    expect(cached.map((row) => [row.metricName, row.subject])).toEqual([
      ["Received Email", "Welcome to ACME"],
      ["Opened Email", "Welcome to ACME"],
      ["Clicked Email", "Welcome to ACME"],
      ["Bounced Email", "Your invoice"],
      ["Unsubscribed", null],
    ]);
    expect(cached.every((row) => row.notedAt !== null)).toBe(true);
    expect(klaviyo.invalidRequests()).toEqual([]);
  });

  it("notes each event once across scheduled polls on a restarted worker", async () => {
    const setup = await setUp("pk_activity_restart_0123456789");
    const { store, leads, installed } = setup;
    store.seedEvent({ metric: "Opened Email", email: "ada@example.com", datetime: new Date(Date.now() - 60_000), properties: { Subject: "Spring offer" } });

    // The scheduled job, run by a worker that is started for the poll and stopped after it.
    const pollViaWorker = async () => {
      const worker = await startWorker({
        databaseUrl: process.env.DATABASE_URL!,
        jobs: [activityPollJob],
        log: pino({ level: "silent" }),
        concurrency: 1,
              });
      try {
        // A job of its own, beside the account's chain (its next poll waits an interval) and the key save's.
        const jobId = await (await senderBoss()).send(activityPollJob.name, { accountId: installed.accountId });
        const deadline = Date.now() + 20_000;
        for (;;) {
          const [row] = await sql<{ state: string }>(`SELECT state FROM pgboss.job WHERE id = $1`, [jobId]);
          if (row?.state === "completed") return;
          if (Date.now() > deadline) throw new Error(`activity poll did not run: ${JSON.stringify(row)}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        await worker.stop({ timeoutMs: 2000 });
      }
    };

    await pollViaWorker();
    expect(notesOf(setup)).toEqual([{ leadId: leads.adaOpen, type: "service_message", service: "Klaviyo", text: 'Opened email "Spring offer"' }]);

    // A new event, then a fresh worker process state: the old event stays noted once, the new one is noted once.
    store.seedEvent({ metric: "Clicked Email", email: "ada@example.com", datetime: new Date(), properties: { Subject: "Spring offer" } });
    await pollViaWorker();
    await pollViaWorker();
    expect(notesOf(setup).map((note) => note.text)).toEqual(['Clicked a link in email "Spring offer"', 'Opened email "Spring offer"']);
  });

  it("polls each account at its own interval, to the second, as a chain of jobs", async () => {
    process.env.KLAVIYO_ACTIVITY_POLL_SECONDS = "2";
    resetEnvForTests();
    const setup = await setUp("pk_activity_chain_01234567ch");
    const worker = await startWorker({ databaseUrl: process.env.DATABASE_URL!, jobs: [activityPollJob], log: pino({ level: "silent" }), concurrency: 1 });
    let running = true;
    const stopWorker = async () => {
      if (!running) return;
      running = false;
      await worker.stop({ timeoutMs: 5000 });
    };
    try {
      await enqueueActivityPoll(setup.installed.accountId);
      const pollStarts = () => {
        // One poll reads each metric back to back; a gap of more than half a second starts the next poll.
        const times = klaviyo.requestsFor("get_events").filter((request) => request.keyHint === "…67ch").map((request) => request.at);
        return times.filter((at, index) => index === 0 || at - times[index - 1]! > 500);
      };
      const waitFor = async (what: () => boolean, ms: number) => {
        const deadline = Date.now() + ms;
        while (!what()) {
          if (Date.now() > deadline) throw new Error("condition not met in time");
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      await waitFor(() => pollStarts().length >= 4, 30_000);
      // Each poll starts one interval after the one before, not earlier, not a cron minute later
      // (from the second on: the first one looked the metrics up before reading events).
      const starts = pollStarts();
      for (let index = 2; index < starts.length; index++) {
        const gap = starts[index]! - starts[index - 1]!;
        expect(gap).toBeGreaterThanOrEqual(1900);
        expect(gap).toBeLessThan(6000);
      }
      // An event is noted within two intervals (plus the load of a shared machine), with no tick.
      setup.store.seedEvent({ metric: "Opened Email", email: "ada@example.com", datetime: new Date(), properties: { Subject: "Chained" } });
      const seededAt = Date.now();
      await waitFor(() => notesOf(setup).some((note) => note.text === 'Opened email "Chained"'), 15_000);
      expect(Date.now() - seededAt).toBeLessThan(4 * 2000 + 3000);
      // One waiting job per account, however many polls ran: counted once the worker has stopped (a
      // running poll finishes first), so that no poll is caught between starting and chaining the next.
      await stopWorker();
      const waiting = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND singleton_key = $2 AND state = 'created'`, [activityPollJob.name, setup.installed.accountId]);
      expect(waiting[0]!.n).toBe(1);
    } finally {
      await stopWorker();
      delete process.env.KLAVIYO_ACTIVITY_POLL_SECONDS;
      resetEnvForTests();
    }
  });

  it("writes the notes of a Spanish account in Spanish, with times in the account's time zone read at install", async () => {
    const setup = await setUp("pk_activity_spanish_0123456789", {}, { language: "es", timezone: "America/Mexico_City" });
    const account = await db().account.findUniqueOrThrow({ where: { id: setup.installed.accountId } });
    expect(account).toMatchObject({ language: "es", timezone: "America/Mexico_City" });
    expect(account.kommoSettingsReadAt).not.toBeNull();
    const openedAt = new Date();
    setup.store.seedEvent({ metric: "Opened Email", email: "ada@example.com", datetime: openedAt, properties: { Subject: "Propuesta" } });
    await pollAccountActivity(setup.installed.accountId);
    const texts = kommo.account(setup.installed.kommoAccountId).notes.map((note) => String(note.params.text));
    // The clock time as someone in Mexico City reads it (UTC-6, no daylight saving since 2022).
    const mexico = new Date(openedAt.getTime() - 6 * 3600_000);
    // Spanish writes the hour without a leading zero ("0:02", "9:05", "13:40").
    const clock = `${mexico.getUTCHours()}:${String(mexico.getUTCMinutes()).padStart(2, "0")}`;
    expect(texts).toHaveLength(1);
    expect(texts[0]).toMatch(new RegExp(`^Abrió el correo "Propuesta" — ${mexico.getUTCDate()} [a-z]+\\.? ${mexico.getUTCFullYear()}, ${clock}$`));
  });

  it("gives a batch back when Kommo refuses it for now, and writes it once later", async () => {
    const setup = await setUp("pk_activity_refused_0123456789");
    setup.store.seedEvent({ metric: "Opened Email", email: "bob@example.com", datetime: new Date(Date.now() - 60_000), properties: { Subject: "Last chance" } });
    // Kommo's 429 with a long retry_after: nothing was stored, the job gives up for now.
    kommo.failNext({ status: 429, route: "POST /api/v4/leads/notes", retryAfterSeconds: 11 });
    await expect(pollAccountActivity(setup.installed.accountId)).rejects.toThrow(/rate limit/i);
    expect(notesOf(setup)).toEqual([]);
    expect(await db().emailActivity.count({ where: { accountId: setup.installed.accountId, notedAt: null } })).toBe(1);

    // Once Kommo's pause is over, the next poll writes the note, once.
    await sql(`DELETE FROM "RateLimitBucket" WHERE key LIKE $1`, [`kommo:${setup.installed.kommoAccountId}%`]);
    await pollAccountActivity(setup.installed.accountId);
    await pollAccountActivity(setup.installed.accountId);
    expect(notesOf(setup)).toEqual([{ leadId: setup.leads.bobLost, type: "service_message", service: "Klaviyo", text: 'Opened email "Last chance"' }]);
  });

  it("keeps the activity for the deal card but writes no note when the account switched notes off", async () => {
    const setup = await setUp("pk_activity_quiet_0123456789", { activityNotes: false });
    setup.store.seedEvent({ metric: "Opened Email", email: "ada@example.com", datetime: new Date(Date.now() - 60_000), properties: { Subject: "Hello" } });
    expect(await pollAccountActivity(setup.installed.accountId)).toMatchObject({ stored: 1, notes: 0 });
    expect(notesOf(setup)).toEqual([]);
    expect(noteRequests(setup)).toBe(0);
  });

  it("costs only pages of events for a big sender whose recipients are not in the CRM", async () => {
    const setup = await setUp("pk_activity_bulk_0123456789");
    const at = new Date(Date.now() - 5 * 60_000);
    for (let index = 0; index < 4500; index++) {
      setup.store.seedEvent({ metric: "Opened Email", email: `reader${index}@newsletter.example`, datetime: at, properties: { Subject: "Weekly digest" } });
    }
    setup.store.seedEvent({ metric: "Opened Email", email: "ada@example.com", datetime: at, properties: { Subject: "Weekly digest" } });
    const kommoBefore = kommo.requests.filter((request) => request.accountId === setup.installed.kommoAccountId).length;
    const klaviyoBefore = klaviyo.requests.length;

    const result = await pollAccountActivity(setup.installed.accountId);
    expect(result).toMatchObject({ events: 4501, stored: 1, notes: 1, noteRequests: 1 });

    const calls = klaviyo.requests.slice(klaviyoBefore).map((request) => request.operation);
    // One metrics lookup (cached from now on), then pages: 5 of opens (1000 each), 1 for each of the five other metrics.
    expect(calls.filter((operation) => operation === "get_metrics")).toHaveLength(1);
    expect(calls.filter((operation) => operation === "get_events")).toHaveLength(5 + 5);
    expect(calls).toHaveLength(1 + 10);
    // Kommo: the one notes request for Ada's event, nothing for the 4500 strangers.
    const kommoCalls = kommo.requests.filter((request) => request.accountId === setup.installed.kommoAccountId).slice(kommoBefore);
    expect(kommoCalls.map((request) => request.route)).toEqual(["POST /api/v4/leads/notes"]);
    expect(await db().emailActivity.count({ where: { accountId: setup.installed.accountId } })).toBe(1);
  }, 60_000);
});
