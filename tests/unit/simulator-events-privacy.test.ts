// The simulators' events feed (Kommo) and data-privacy deletion (Klaviyo) behave as the references say.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteContact, deleteLead, KommoSimulator, MAX_EVENTS_LIMIT, WON } from "../simulators/kommo";
import { deletionRequests, startKlaviyoSimulator, type KlaviyoSimulator } from "../simulators/klaviyo";

const config = { clientId: "0b0123f4-5678-4abc-9def-0123456789ab", clientSecret: "sim-secret-0123456789", redirectUri: "https://sync.example.com/api/kommo/oauth/callback" };
const ACCOUNT = 5151;
let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
let token: string;

beforeAll(async () => {
  kommo = await KommoSimulator.start(config);
  kommo.addAccount({ id: ACCOUNT, subdomain: "feed" });
  token = kommo.issueTokens(ACCOUNT).access_token;
  klaviyo = await startKlaviyoSimulator({ jobDelayMs: 5 });
  klaviyo.addKey("pk_sim_privacy_0123456789");
});

afterAll(async () => {
  await kommo.close();
  await klaviyo.close();
});

const events = async (query: string) => {
  const response = await fetch(`${kommo.url}/api/v4/events?${query}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: response.status, body: response.status === 200 ? ((await response.json()) as { _links: { next?: unknown }; _embedded: { events: Record<string, unknown>[] } }) : null };
};

describe("Kommo events feed", () => {
  it("logs additions, moves and deletions, filters them by type and time, newest first, in pages of at most 100", async () => {
    const pipeline = kommo.seedPipeline(ACCOUNT, { name: "Sales", stages: ["Talks"] });
    const talks = pipeline.statuses.find((status) => status.name === "Talks")!.id;
    const contact = kommo.seedContact(ACCOUNT, { firstName: "Ann", lastName: "Lee", emails: ["ann@example.com"] });
    const lead = kommo.seedLead(ACCOUNT, { name: "Deal", pipelineId: pipeline.id, statusId: talks, contactIds: [contact.id] });
    kommo.updateLead(ACCOUNT, lead.id, { name: "Renamed" });
    kommo.updateLead(ACCOUNT, lead.id, { status_id: WON });
    deleteLead(kommo.store, ACCOUNT, lead.id);
    deleteContact(kommo.store, ACCOUNT, contact.id);

    const all = await events("limit=100");
    expect(all.body!._embedded.events.map((event) => event.type)).toEqual(["contact_deleted", "lead_deleted", "lead_status_changed", "lead_added"]);
    const moved = all.body!._embedded.events.find((event) => event.type === "lead_status_changed")!;
    expect(moved).toMatchObject({
      id: expect.any(String),
      entity_id: lead.id,
      entity_type: "lead",
      account_id: ACCOUNT,
      value_before: [{ lead_status: { id: talks, pipeline_id: pipeline.id } }],
      value_after: [{ lead_status: { id: WON, pipeline_id: pipeline.id } }],
    });
    expect((await events("filter[type]=lead_added,lead_deleted")).body!._embedded.events.map((event) => event.type)).toEqual(["lead_deleted", "lead_added"]);
    const future = Math.floor(Date.now() / 1000) + 3600;
    expect((await events(`filter[created_at][from]=${future}`)).status).toBe(204);
    expect((await events(`limit=${MAX_EVENTS_LIMIT + 1}`)).status).toBe(422);
    const paged = await events("limit=3");
    expect(paged.body!._embedded.events).toHaveLength(3);
    expect(paged.body!._links.next).toBeDefined();
    expect((await fetch(`${kommo.url}/api/v4/leads/${lead.id}`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(204);
  });
});

describe("Klaviyo data-privacy deletion", () => {
  const request = (profile: Record<string, unknown>) =>
    fetch(`${klaviyo.url}/api/data-privacy-deletion-jobs`, {
      method: "POST",
      headers: { Authorization: "Klaviyo-API-Key pk_sim_privacy_0123456789", revision: "2026-07-15", "Content-Type": "application/vnd.api+json" },
      body: JSON.stringify({ data: { type: "data-privacy-deletion-job", attributes: { profile: { data: { type: "profile", ...profile } } } } }),
    });

  it("accepts one identifier, answers 202 and deletes the profile with its list memberships and events afterwards", async () => {
    const list = klaviyo.account.createList("Customers");
    const event = klaviyo.account.seedEvent({ metric: "Opened Email", email: "gone@example.com" });
    const profileId = event.profileId;
    list.members.add(profileId);
    const answer = await request({ id: profileId, attributes: {} });
    expect(answer.status).toBe(202);
    expect(deletionRequests(klaviyo.account)).toEqual([{ id: profileId, at: expect.any(Number) }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(klaviyo.account.profileByEmail("gone@example.com")).toBeUndefined();
    expect(list.members.has(profileId)).toBe(false);
    expect(klaviyo.account.events.some((item) => item.profileId === profileId)).toBe(false);
  });

  it("refuses two identifiers at once, and none", async () => {
    expect((await request({ id: "01ABC", attributes: { email: "a@example.com" } })).status).toBe(400);
    expect((await request({ attributes: {} })).status).toBe(400);
  });
});
