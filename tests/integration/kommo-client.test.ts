// The typed Kommo client against the simulated Kommo: the shared rate limit across two workers,
// lead + contact + company reads, batches and pagination, notes, webhooks, and how each kind of
// Kommo error reaches the caller.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { KommoApiError, KommoBlockedError, KommoRateLimitedError } from "@/lib/integrations/kommo/errors";
import { contactEmails, contactPhones } from "@/lib/integrations/kommo/fields";
import { KOMMO_RATE_LIMIT } from "@/lib/integrations/kommo/rate";
import type { KommoSimulator } from "../simulators/kommo";
import { closeConnections, installAccount, startKommo, type InstalledAccount } from "./kommo-fixtures";

let kommo: KommoSimulator;
let account: InstalledAccount;
let pipelineId: number;
let stageId: number;

beforeAll(async () => {
  kommo = await startKommo();
  account = await installAccount(kommo);
  const pipeline = kommo.seedPipeline(account.kommoAccountId, { name: "Sales", stages: ["New", "Proposal"] });
  pipelineId = pipeline.id;
  stageId = pipeline.statuses[1]!.id;
});

afterAll(async () => {
  await closeConnections(kommo);
});

const client = () => kommoClientFor(account.accountId);

describe("shared rate limit", () => {
  it("keeps two concurrent workers of one account under 7 requests per second without a single 429", async () => {
    const lead = kommo.seedLead(account.kommoAccountId, { name: "Busy", pipelineId, statusId: stageId });
    const [workerA, workerB] = await Promise.all([client(), client()]);
    kommo.resetCounters();
    const started = Date.now();

    const results = await Promise.all([
      ...Array.from({ length: 12 }, () => workerA.getLead(lead.id)),
      ...Array.from({ length: 12 }, () => workerB.getLead(lead.id)),
    ]);

    const elapsed = Date.now() - started;
    expect(results.every((result) => result?.id === lead.id)).toBe(true);
    expect(kommo.count("GET /api/v4/leads/:id", { status: 429 })).toBe(0);
    expect(kommo.count("GET /api/v4/leads/:id", { status: 200 })).toBe(24);
    expect(kommo.peakRequests(account.kommoAccountId)).toBeLessThanOrEqual(7);
    // 24 calls under one shared budget take at least 23 / 5 s; a limiter per process would halve that.
    expect(elapsed).toBeGreaterThanOrEqual(4_400);
    expect(workerA.requestCount + workerB.requestCount).toBe(24);
  });
});

describe("reads", () => {
  it("reads a lead with its main contact and company in three calls", async () => {
    const company = kommo.seedCompany(account.kommoAccountId, { name: "Analytical Engines Ltd" });
    const main = kommo.seedContact(account.kommoAccountId, {
      firstName: "Ada",
      lastName: "Lovelace",
      emails: ["ada@example.com", "ada.private@example.com"],
      phones: ["+44 20 7946 0000"],
      companyId: company.id,
    });
    const other = kommo.seedContact(account.kommoAccountId, { firstName: "Charles", lastName: "Babbage" });
    const lead = kommo.seedLead(account.kommoAccountId, { name: "Engine", price: 1200, pipelineId, statusId: stageId, contactIds: [main.id, other.id], companyId: company.id });
    const kommoClient = await client();

    const result = await kommoClient.getLeadWithParties(lead.id);

    expect(kommoClient.requestCount).toBe(3);
    expect(result!.lead).toMatchObject({ id: lead.id, name: "Engine", price: 1200, status_id: stageId, pipeline_id: pipelineId, custom_fields_values: [] });
    expect(result!.lead._embedded?.contacts).toEqual([
      { id: main.id, is_main: true },
      { id: other.id, is_main: false },
    ]);
    expect(result!.mainContact).toMatchObject({ id: main.id, first_name: "Ada", last_name: "Lovelace" });
    expect(contactEmails(result!.mainContact!)).toEqual(["ada@example.com", "ada.private@example.com"]);
    expect(contactPhones(result!.mainContact!)).toEqual(["+44 20 7946 0000"]);
    expect(result!.company).toMatchObject({ id: company.id, name: "Analytical Engines Ltd" });
  });

  it("reads a lost lead with its loss reason", async () => {
    const reason = kommo.seedLossReason(account.kommoAccountId, "Too expensive");
    const lead = kommo.seedLead(account.kommoAccountId, { name: "Lost one", pipelineId, statusId: 143, lossReasonId: reason.id });
    const read = await (await client()).getLead(lead.id, { with: ["contacts", "loss_reason"] });
    expect(read).toMatchObject({ status_id: 143, loss_reason_id: reason.id, _embedded: { loss_reason: [{ id: reason.id, name: "Too expensive" }] } });
  });

  it("answers null for a lead Kommo does not have (204)", async () => {
    expect(await (await client()).getLead(1)).toBeNull();
    expect(await (await client()).getLeadWithParties(1)).toBeNull();
  });

  it("reads contacts by id in batches of 250", async () => {
    const contacts = Array.from({ length: 260 }, (_, n) => kommo.seedContact(account.kommoAccountId, { firstName: `C${n}`, lastName: "Batch", emails: [`c${n}@example.com`] }));
    const kommoClient = await client();
    kommo.resetCounters();

    const found = await kommoClient.getContacts([...contacts.map((contact) => contact.id), 1]);

    expect(found.map((contact) => contact.id).sort()).toEqual(contacts.map((contact) => contact.id).sort());
    expect(kommo.count("GET /api/v4/contacts")).toBe(2);
    const paths = kommo.requests.filter((request) => request.route === "GET /api/v4/contacts");
    expect(paths.every((request) => request.status === 200)).toBe(true);
    expect(contactEmails(found.find((contact) => contact.id === contacts[0]!.id)!)).toEqual(["c0@example.com"]);
  });

  it("reads companies by id", async () => {
    const companies = [1, 2].map((n) => kommo.seedCompany(account.kommoAccountId, { name: `Company ${n}` }));
    const found = await (await client()).getCompanies(companies.map((company) => company.id));
    expect(found.map((company) => company.name).sort()).toEqual(["Company 1", "Company 2"]);
  });

  it("pages through leads with _links.next, and reads an empty result (204) as an empty page", async () => {
    const other = await installAccount(kommo);
    const pipeline = kommo.seedPipeline(other.kommoAccountId, { name: "Bulk", stages: ["Open"] });
    const otherClient = await kommoClientFor(other.accountId);
    expect(await otherClient.listLeadsPage()).toEqual({ items: [], nextHref: null });

    const seeded = Array.from({ length: 260 }, (_, n) => kommo.seedLead(other.kommoAccountId, { name: `Lead ${n}`, pipelineId: pipeline.id, statusId: pipeline.statuses[1]!.id }));
    const first = await otherClient.listLeadsPage({ with: ["contacts"] });
    expect(first.items).toHaveLength(250);
    expect(first.nextHref).toMatch(/^\/api\/v4\/leads\?/);
    const pages: number[] = [];
    for await (const page of otherClient.iterateLeads({ updatedSince: new Date(0) })) pages.push(page.length);
    expect(pages).toEqual([250, 10]);
    const all = [];
    for await (const page of otherClient.iterateLeads()) all.push(...page);
    expect(all.map((lead) => lead.id).sort()).toEqual(seeded.map((lead) => lead.id).sort());
    // A resumed cursor continues where it stopped; a cursor that is not a leads page is refused.
    expect((await otherClient.listLeadsPage({ nextHref: first.nextHref! })).items).toHaveLength(10);
    await expect(otherClient.listLeadsPage({ nextHref: "/api/v4/contacts?page=2" })).rejects.toMatchObject({ code: "kommo_unexpected_response" });
  });

  it("reads pipelines with their stages, including Won (142) and Lost (143)", async () => {
    const pipelines = await (await client()).getPipelines();
    const sales = pipelines.find((pipeline) => pipeline.id === pipelineId)!;
    expect(sales._embedded.statuses.map((status) => status.name)).toEqual(["Incoming leads", "New", "Proposal", "Closed - won", "Closed - lost"]);
    expect(sales._embedded.statuses.slice(-2).map((status) => status.id)).toEqual([142, 143]);
    expect((await (await client()).getPipelineStatuses(pipelineId)).map((status) => status.id)).toContain(142);
  });

  it("reads the account and its users", async () => {
    const kommoClient = await client();
    expect(await kommoClient.getAccount()).toMatchObject({ id: account.kommoAccountId, subdomain: account.subdomain, currency: "USD" });
    expect(await kommoClient.getUsers()).toEqual([expect.objectContaining({ name: "Admin", rights: expect.objectContaining({ is_admin: true }) })]);
  });
});

describe("writes", () => {
  it("adds notes to leads, 50 per request", async () => {
    const lead = kommo.seedLead(account.kommoAccountId, { name: "Noted", pipelineId, statusId: stageId });
    kommo.resetCounters();
    const notes = Array.from({ length: 60 }, (_, n) => ({ leadId: lead.id, noteType: "service_message" as const, service: "Klaviyo", text: `Opened email ${n}` }));

    const created = await (await client()).addLeadNotes(notes);

    expect(created).toHaveLength(60);
    expect(kommo.count("POST /api/v4/leads/notes")).toBe(2);
    const stored = kommo.account(account.kommoAccountId).notes.filter((note) => note.entity_id === lead.id);
    expect(stored).toHaveLength(60);
    expect(stored[0]).toMatchObject({ note_type: "service_message", params: { service: "Klaviyo", text: "Opened email 0" } });
  });

  it("surfaces Kommo's validation problem as a non-retryable error with its detail", async () => {
    const failure = await (await client()).addLeadNotes([{ leadId: 1, noteType: "common", text: "to nowhere" }]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KommoApiError);
    expect(failure).toMatchObject({ status: 400, retryable: false, detail: "Request validation failed" });
    expect((failure as KommoApiError).problem?.validationErrors).toEqual([{ request_id: "0", errors: [expect.objectContaining({ code: "NotFound", path: "0.entity_id" })] }]);
  });

  it("registers, lists and deletes webhooks", async () => {
    const kommoClient = await client();
    const destination = `${process.env.APP_URL}/api/kommo/webhooks/test-destination`;
    const created = await kommoClient.registerWebhook({ destination, settings: ["add_lead"] });
    expect(created).toMatchObject({ destination, settings: ["add_lead"], disabled: false });
    expect((await kommoClient.listWebhooks(destination)).map((webhook) => webhook.id)).toEqual([created.id]);
    await kommoClient.deleteWebhook(destination);
    expect(await kommoClient.listWebhooks(destination)).toEqual([]);
    await expect(kommoClient.registerWebhook({ destination, settings: ["not_an_event"] })).rejects.toMatchObject({ status: 400, retryable: false });
  });
});

describe("Kommo errors", () => {
  it("waits out a 429's retry_after for every worker and then succeeds", async () => {
    const kommoClient = await client();
    kommo.failNext({ status: 429, route: "GET /api/v4/account" });
    const started = Date.now();
    expect((await kommoClient.getAccount()).id).toBe(account.kommoAccountId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("repeats a read after a 5xx, but not a write", async () => {
    const kommoClient = await client();
    kommo.failNext({ status: 503, route: "GET /api/v4/leads/pipelines" });
    expect((await kommoClient.getPipelines()).length).toBeGreaterThan(0);
    expect(kommoClient.requestCount).toBe(2);

    const lead = kommo.seedLead(account.kommoAccountId, { name: "Flaky", pipelineId, statusId: stageId });
    kommo.failNext({ status: 500, route: "POST /api/v4/leads/notes" });
    const failure = await kommoClient.addLeadNotes([{ leadId: lead.id, noteType: "common", text: "once" }]).catch((error: unknown) => error);
    expect(failure).toMatchObject({ status: 500, retryable: true });
    expect(kommo.account(account.kommoAccountId).notes.filter((note) => note.entity_id === lead.id)).toHaveLength(0);
  });

  it("gives up on 5xx after a few tries with a retryable error", async () => {
    const kommoClient = await client();
    kommo.failNext({ status: 502, times: 3, route: "GET /api/v4/account" });
    await expect(kommoClient.getAccount()).rejects.toMatchObject({ status: 502, retryable: true, code: "kommo_server_error" });
    expect(kommoClient.requestCount).toBe(3);
  });

  it("backs off on Kommo's 403 block page with a retryable error", async () => {
    const blocked = await installAccount(kommo);
    kommo.setBlocked(true);
    try {
      const failure = await (await kommoClientFor(blocked.accountId)).getAccount().catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(KommoBlockedError);
      expect(failure).toMatchObject({ retryable: true, code: "kommo_blocked" });
    } finally {
      kommo.setBlocked(false);
    }
  });

  it("hands a long retry_after back to the queue, pausing the account for every worker", async () => {
    const limited = await installAccount(kommo);
    kommo.failNext({ status: 429, route: "GET /api/v4/account", retryAfterSeconds: 300 });
    const started = Date.now();

    const failure = await (await kommoClientFor(limited.accountId)).getAccount().catch((error: unknown) => error);

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(failure).toBeInstanceOf(KommoRateLimitedError);
    expect(failure).toMatchObject({ retryable: true, retryAfterSeconds: 300 });
    // The shared bucket is in debt for 300 s, so no process of this account calls Kommo meanwhile.
    const [bucket] = await db().rateLimitBucket.findMany({ where: { key: `kommo:${limited.kommoAccountId}` } });
    expect(bucket!.tokens).toBeLessThanOrEqual(-300 * KOMMO_RATE_LIMIT.ratePerSecond + 1);
  });
});
