// What a deal change costs in API calls once the deal is known: the lead from Kommo and one event
// to Klaviyo that carries the profile's new stage (plus the list moves the mapping asks for). The
// contact comes from our cache until Kommo reports a change of it; then it is read again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logger } from "@/lib/platform/log";
import { ALL_SCOPES, type KlaviyoSimulator, type SimAccount } from "../simulators/klaviyo";
import { WON, type KommoSimulator } from "../simulators/kommo";
import { connectKlaviyo, startSimulators, stopSimulators } from "./account-fixtures";
import { deliverCrmWebhook, installAccount, jobsOf, type InstalledAccount } from "./kommo-fixtures";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";

const KEY = "pk_sync_calls_test_000001";

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
let installed: InstalledAccount;
let store: SimAccount;
let pipeline: { id: number; statuses: { id: number; name: string }[] };
let lists: { qualified: string; negotiation: string; won: string; all: string };

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators());
  installed = await installAccount(kommo);
  store = klaviyo.createAccount("Calls Store");
  klaviyo.addKey(KEY, { scopes: ALL_SCOPES, account: store });
  lists = {
    qualified: store.createList("Qualified").id,
    negotiation: store.createList("Negotiating").id,
    won: store.createList("Customers").id,
    all: store.createList("All deals").id,
  };
  pipeline = kommo.seedPipeline(installed.kommoAccountId, { name: "Sales", stages: ["Qualified", "Negotiation"], isMain: true });
  const stage = (name: string) => pipeline.statuses.find((status) => status.name === name)!.id;
  await connectKlaviyo(kommo, installed, KEY, {
    stageLists: [
      { pipelineId: pipeline.id, statusId: stage("Qualified"), listId: lists.qualified },
      { pipelineId: pipeline.id, statusId: stage("Negotiation"), listId: lists.negotiation },
      { pipelineId: pipeline.id, statusId: WON, listId: lists.won },
    ],
    allDealsListId: lists.all,
    removeFromPreviousList: true,
  });
});

afterAll(async () => {
  await stopSimulators({ kommo, klaviyo });
});

const deliver = (body: string) => deliverCrmWebhook(installed.hookKey, body);

/** Run the lead's queued sync job as the worker would; the calls it made, by route and operation. */
async function syncAndCount(leadId: number) {
  const job = (await jobsOf(syncLeadJob.name, installed.accountId)).find((row) => row.data.leadId === leadId && row.state === "created");
  expect(job).toBeDefined();
  kommo.resetCounters();
  const klaviyoBefore = klaviyo.requests.length;
  await syncLeadJob.handle(job!.data, { id: job!.id, queue: syncLeadJob.name, retryCount: 0, retryLimit: 0, log: logger() });
  return {
    leads: kommo.count("GET /api/v4/leads/:id"),
    contacts: kommo.count("GET /api/v4/contacts/:id"),
    companies: kommo.count("GET /api/v4/companies/:id"),
    klaviyo: klaviyo.requests.slice(klaviyoBefore).map((request) => request.operation),
  };
}

describe("API calls per deal change", () => {
  it("a known deal's stage change reads the lead only and sends the profile with its events", async () => {
    const stage = (name: string) => pipeline.statuses.find((status) => status.name === name)!.id;
    const contact = kommo.seedContact(installed.kommoAccountId, { firstName: "Ada", lastName: "Lovelace", emails: ["ada@example.com"], phones: ["+442071234567"] });
    const lead = kommo.seedLead(installed.kommoAccountId, { name: "Engines", price: 5000, pipelineId: pipeline.id, statusId: stage("Qualified"), contactIds: [contact.id] });

    // First sight: lead and contact from Kommo, the profile created, its lists, the creation event.
    await deliver(kommo.leadWebhookBody(installed.kommoAccountId, lead.id, "add"));
    const first = await syncAndCount(lead.id);
    expect(first).toMatchObject({ leads: 1, contacts: 1, companies: 0 });
    expect(first.klaviyo).toEqual(["create_or_update_profile", "add_profiles_to_list", "add_profiles_to_list", "create_event"]);

    // A move: the lead only; the list moves and one event, which updates the profile too.
    kommo.advanceTime(1000);
    kommo.updateLead(installed.kommoAccountId, lead.id, { status_id: stage("Negotiation") });
    await deliver(kommo.leadWebhookBody(installed.kommoAccountId, lead.id, "status", { oldStatusId: stage("Qualified") }));
    const move = await syncAndCount(lead.id);
    expect(move).toEqual({ leads: 1, contacts: 0, companies: 0, klaviyo: ["add_profiles_to_list", "remove_profiles_from_list", "create_event"] });
    const profile = store.profileByEmail("ada@example.com")!;
    expect(profile.properties).toMatchObject({ crm_stage: "Negotiation", deal_amount: 5000, kommo_deal_id: lead.id });
    expect(profile.first_name).toBe("Ada");
    expect(profile.phone_number).toBe("+442071234567");

    // The contact is renamed in Kommo: its webhook makes the next sync read it again.
    const simContact = kommo.account(installed.kommoAccountId).contacts.get(contact.id)!;
    simContact.first_name = "Augusta Ada";
    simContact.name = "Augusta Ada Lovelace";
    await deliver(kommo.contactWebhookBody(installed.kommoAccountId, contact.id));
    const renamed = await syncAndCount(lead.id);
    expect(renamed).toMatchObject({ leads: 1, contacts: 1, klaviyo: ["create_or_update_profile"] });
    expect(store.profileByEmail("ada@example.com")!.first_name).toBe("Augusta Ada");

    // Won: again the lead only, and the events carry the profile's new stage.
    kommo.advanceTime(1000);
    kommo.updateLead(installed.kommoAccountId, lead.id, { status_id: WON });
    await deliver(kommo.leadWebhookBody(installed.kommoAccountId, lead.id, "status", { oldStatusId: stage("Negotiation") }));
    const won = await syncAndCount(lead.id);
    expect(won).toEqual({ leads: 1, contacts: 0, companies: 0, klaviyo: ["add_profiles_to_list", "remove_profiles_from_list", "create_event", "create_event"] });
    expect(store.profileByEmail("ada@example.com")!).toMatchObject({ first_name: "Augusta Ada", properties: expect.objectContaining({ crm_stage: "Won" }) });
    expect(store.eventsNamed("Deal Won")).toHaveLength(1);
    expect(klaviyo.invalidRequests()).toEqual([]);
  });

  it("a deal's company is read once, then from the cache until Kommo reports the company changed", async () => {
    const stage = (name: string) => pipeline.statuses.find((status) => status.name === name)!.id;
    const company = kommo.seedCompany(installed.kommoAccountId, { name: "Analytical Engines Ltd" });
    const contact = kommo.seedContact(installed.kommoAccountId, { firstName: "Charles", lastName: "Babbage", emails: ["charles@example.com"] });
    const lead = kommo.seedLead(installed.kommoAccountId, {
      name: "Difference engine",
      pipelineId: pipeline.id,
      statusId: stage("Qualified"),
      contactIds: [contact.id],
      companyId: company.id,
    });
    await deliver(kommo.leadWebhookBody(installed.kommoAccountId, lead.id, "add"));
    expect(await syncAndCount(lead.id)).toMatchObject({ leads: 1, contacts: 1, companies: 1 });
    expect(store.profileByEmail("charles@example.com")!.organization).toBe("Analytical Engines Ltd");

    // A stage change: the company's name comes from the cache.
    kommo.advanceTime(1000);
    kommo.updateLead(installed.kommoAccountId, lead.id, { status_id: stage("Negotiation") });
    await deliver(kommo.leadWebhookBody(installed.kommoAccountId, lead.id, "status", { oldStatusId: stage("Qualified") }));
    expect(await syncAndCount(lead.id)).toMatchObject({ leads: 1, contacts: 0, companies: 0 });

    // The company is renamed: its webhook forgets the cached name, and the next sync reads it again.
    kommo.account(installed.kommoAccountId).companies.get(company.id)!.name = "Babbage & Co";
    await deliver(kommo.companyWebhookBody(installed.kommoAccountId, company.id));
    kommo.advanceTime(1000);
    kommo.updateLead(installed.kommoAccountId, lead.id, { status_id: WON });
    await deliver(kommo.leadWebhookBody(installed.kommoAccountId, lead.id, "status", { oldStatusId: stage("Negotiation") }));
    expect(await syncAndCount(lead.id)).toMatchObject({ leads: 1, contacts: 0, companies: 1 });
    expect(store.profileByEmail("charles@example.com")!.organization).toBe("Babbage & Co");
    expect(klaviyo.invalidRequests()).toEqual([]);
  });
});
