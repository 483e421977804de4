// POST /api/kommo/webhooks/{hookKey} with deliveries encoded as Kommo sends them: recorded once per
// lead change, one sync-lead job per lead, and nothing at all for bad keys, foreign accounts or
// malformed bodies.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { POST } from "@/app/api/kommo/webhooks/[hookKey]/route";
import { db, numberIds } from "@/lib/db/client";
import { encodeKommoForm, fireWebhook, type KommoSimulator } from "../simulators/kommo";
import { closeConnections, installAccount, jobsOf, sql, startKommo, type InstalledAccount } from "./kommo-fixtures";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";

let kommo: KommoSimulator;
let account: InstalledAccount;
let pipelineId: number;
let firstStageId: number;

beforeAll(async () => {
  kommo = await startKommo();
});

afterAll(async () => {
  await closeConnections(kommo);
});

beforeEach(async () => {
  account = await installAccount(kommo);
  const pipeline = kommo.seedPipeline(account.kommoAccountId, { name: "Sales", stages: ["New", "Qualified"] });
  pipelineId = pipeline.id;
  firstStageId = pipeline.statuses[1]!.id;
});

const deliver = (body: string, hookKey = account.hookKey, contentType?: string) =>
  fireWebhook((request) => POST(request, { params: Promise.resolve({ hookKey }) }), body, contentType);

const eventsOf = async (accountId = account.accountId) => (await db().inboundEvent.findMany({ where: { accountId }, orderBy: { receivedAt: "asc" } })).map(numberIds);
const syncJobs = (accountId = account.accountId) => jobsOf(syncLeadJob.name, accountId);

function seedWonLead() {
  const contact = kommo.seedContact(account.kommoAccountId, { firstName: "Ada", lastName: "Lovelace", emails: ["ada@example.com"] });
  const lead = kommo.seedLead(account.kommoAccountId, { name: "Big deal", price: 5000, pipelineId, statusId: firstStageId, contactIds: [contact.id] });
  kommo.updateLead(account.kommoAccountId, lead.id, { status_id: 142 });
  return { lead, contact };
}

describe("CRM webhook intake", () => {
  it("records a status change and enqueues one sync for the lead", async () => {
    const { lead } = seedWonLead();
    const body = kommo.leadWebhookBody(account.kommoAccountId, lead.id, "status", { oldStatusId: firstStageId });
    expect(body).toContain("leads%5Bstatus%5D%5B0%5D%5Bid%5D=");

    const response = await deliver(body);

    expect(response.status).toBe(200);
    const events = await eventsOf();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      source: "kommo_webhook",
      kind: "status_lead",
      leadId: lead.id,
      contactId: null,
      changedAt: new Date(lead.updated_at * 1000),
      processedAt: null,
    });
    expect(events[0]!.payload).toMatchObject({ id: String(lead.id), status_id: "142", old_status_id: String(firstStageId) });
    expect(events[0]!.dedupeKey).toMatch(/^[0-9a-f]{64}$/);

    const jobs = await syncJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      state: "created",
      singleton_key: `${account.accountId}:${lead.id}`,
      data: { accountId: account.accountId, leadId: lead.id },
    });
  });

  it("creates no second event and no second job when Kommo repeats a delivery, even after the first job ran", async () => {
    const { lead } = seedWonLead();
    const body = kommo.leadWebhookBody(account.kommoAccountId, lead.id, "status", { oldStatusId: firstStageId });
    expect((await deliver(body)).status).toBe(200);
    // The first sync already ran, so the queue's one-job-per-lead rule no longer stands in the way.
    await sql("UPDATE pgboss.job SET state = 'completed', completed_on = now() WHERE name = $1 AND data->>'accountId' = $2", [
      syncLeadJob.name,
      account.accountId,
    ]);

    const retry = await deliver(body);

    expect(retry.status).toBe(200);
    expect(await eventsOf()).toHaveLength(1);
    expect(await syncJobs()).toHaveLength(1);
  });

  it("coalesces further changes of a lead into the job already queued", async () => {
    const { lead } = seedWonLead();
    await deliver(kommo.leadWebhookBody(account.kommoAccountId, lead.id, "status"));
    kommo.updateLead(account.kommoAccountId, lead.id, { price: 7000 });
    await deliver(kommo.leadWebhookBody(account.kommoAccountId, lead.id, "update"));

    expect((await eventsOf()).map((event) => event.kind)).toEqual(["status_lead", "update_lead"]);
    expect(await syncJobs()).toHaveLength(1);
  });

  it("records every lead of a multi-lead delivery and enqueues each", async () => {
    const leads = [1, 2, 3].map((n) => kommo.seedLead(account.kommoAccountId, { name: `Deal ${n}`, pipelineId, statusId: firstStageId }));
    const body = encodeKommoForm({
      leads: { update: leads.map((lead) => ({ id: lead.id, status_id: lead.status_id, pipeline_id: pipelineId, updated_at: lead.updated_at, account_id: account.kommoAccountId })) },
      account: { subdomain: account.subdomain, id: account.kommoAccountId },
    });

    expect((await deliver(body)).status).toBe(200);

    expect((await eventsOf()).map((event) => event.leadId).sort()).toEqual(leads.map((lead) => lead.id).sort());
    expect((await syncJobs()).map((job) => job.data.leadId).sort()).toEqual(leads.map((lead) => lead.id).sort());
  });

  it("answers 404 to an unknown hook key and stores nothing", async () => {
    const { lead } = seedWonLead();
    const body = kommo.leadWebhookBody(account.kommoAccountId, lead.id, "status");
    for (const hookKey of ["x".repeat(43), "short", account.hookKey.slice(0, -1) + (account.hookKey.endsWith("A") ? "B" : "A")]) {
      const response = await deliver(body, hookKey);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: "unknown_hook", message: expect.any(String) } });
    }
    expect(await eventsOf()).toHaveLength(0);
    expect(await syncJobs()).toHaveLength(0);
  });

  it("answers 401 to a delivery for another account and stores nothing", async () => {
    const other = await installAccount(kommo);
    const otherPipeline = kommo.seedPipeline(other.kommoAccountId, { name: "Other", stages: ["A"] });
    const foreignLead = kommo.seedLead(other.kommoAccountId, { name: "Foreign", pipelineId: otherPipeline.id, statusId: 142 });

    const response = await deliver(kommo.leadWebhookBody(other.kommoAccountId, foreignLead.id, "status"), account.hookKey);

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: "account_mismatch", message: expect.any(String) } });
    expect(await eventsOf(account.accountId)).toHaveLength(0);
    expect(await eventsOf(other.accountId)).toHaveLength(0);
    expect(await syncJobs(account.accountId)).toHaveLength(0);
  });

  it("answers 400 with a JSON error to malformed bodies, and 415 to a body that is not a form", async () => {
    const malformed = [
      "",
      "leads[status][0][id]=1", // no account
      `leads[status][0][id]=abc&account[id]=${account.kommoAccountId}`,
      `leads[status][0][name]=no-id&account[id]=${account.kommoAccountId}`,
      `account[id]=${account.kommoAccountId}&leads[update][0][id]=9007199254740992`, // above 2^53 - 1: no number holds it exactly
    ];
    for (const body of malformed) {
      const response = await deliver(body);
      expect(response.status, body).toBe(400);
      expect(await response.json()).toEqual({ error: { code: "malformed_body", message: expect.any(String) } });
    }
    const json = await deliver(JSON.stringify({ account: { id: account.kommoAccountId } }), account.hookKey, "application/json");
    expect(json.status).toBe(415);
    expect(await eventsOf()).toHaveLength(0);
    expect(await syncJobs()).toHaveLength(0);
  });

  it("accepts deliveries with literal brackets and with nothing we record (e.g. tasks)", async () => {
    const { lead } = seedWonLead();
    const raw = `leads[add][0][id]=${lead.id}&leads[add][0][updated_at]=${lead.updated_at}&account[id]=${account.kommoAccountId}`;
    expect((await deliver(raw)).status).toBe(200);
    const tasks = `task[add][0][id]=77&task[add][0][text]=Call&account[id]=${account.kommoAccountId}`;
    expect((await deliver(tasks)).status).toBe(200);
    expect((await eventsOf()).map((event) => event.kind)).toEqual(["add_lead"]);
  });

  it("on a contact update, records it with the contact and syncs the deals we know for that contact", async () => {
    const { lead, contact } = seedWonLead();
    await db().deal.create({ data: { accountId: account.accountId, leadId: lead.id, mainContactId: contact.id } });
    const lonely = kommo.seedContact(account.kommoAccountId, { firstName: "No", lastName: "Deals", emails: ["nobody@example.com"] });

    expect((await deliver(kommo.contactWebhookBody(account.kommoAccountId, contact.id))).status).toBe(200);
    expect((await deliver(kommo.contactWebhookBody(account.kommoAccountId, lonely.id))).status).toBe(200);
    expect((await deliver(kommo.contactWebhookBody(account.kommoAccountId, contact.id))).status).toBe(200); // Kommo's retry

    const events = await eventsOf();
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ kind: "update_contact", contactId: contact.id, leadId: lead.id, processedAt: null });
    // Nothing to sync for a contact without a known deal: recorded, and marked done.
    expect(events[1]).toMatchObject({ kind: "update_contact", contactId: lonely.id, leadId: null });
    expect(events[1]!.processedAt).toBeInstanceOf(Date);
    const jobs = await syncJobs();
    expect(jobs.map((job) => job.data.leadId)).toEqual([lead.id]);
  });

  it("keeps changes of a paused account without enqueueing, and enqueues nothing for one needing re-authorization", async () => {
    const { lead } = seedWonLead();
    await db().account.update({ where: { id: account.accountId }, data: { paused: true } });
    expect((await deliver(kommo.leadWebhookBody(account.kommoAccountId, lead.id, "status"))).status).toBe(200);
    expect(await eventsOf()).toHaveLength(1);
    expect(await syncJobs()).toHaveLength(0);

    await db().account.update({ where: { id: account.accountId }, data: { paused: false, status: "needs_reauth" } });
    kommo.updateLead(account.kommoAccountId, lead.id, { price: 1 });
    expect((await deliver(kommo.leadWebhookBody(account.kommoAccountId, lead.id, "update"))).status).toBe(200);
    expect(await eventsOf()).toHaveLength(2);
    expect(await syncJobs()).toHaveLength(0);
  });

  it("rolls back the recorded events when the job cannot be written, so Kommo's retry brings them again", async () => {
    const { lead } = seedWonLead();
    const body = kommo.leadWebhookBody(account.kommoAccountId, lead.id, "status");
    // Make the job insert fail inside the transaction (the queue's partition refuses new rows).
    await sql(`ALTER TABLE pgboss.job ADD CONSTRAINT kommo_test_no_jobs CHECK (name <> '${syncLeadJob.name}') NOT VALID`);
    try {
      const failed = await deliver(body);
      expect(failed.status).toBe(503);
      expect(await failed.json()).toEqual({ error: { code: "temporarily_unavailable", message: expect.any(String) } });
    } finally {
      await sql("ALTER TABLE pgboss.job DROP CONSTRAINT kommo_test_no_jobs");
    }
    expect(await eventsOf()).toHaveLength(0);

    expect((await deliver(body)).status).toBe(200);
    expect(await eventsOf()).toHaveLength(1);
    expect(await syncJobs()).toHaveLength(1);
  });
});
