// What the historical import sends for one existing deal, its scope rules and its batching.
import { describe, expect, it } from "vitest";
import { sizedBatches } from "@/lib/features/backfill/klaviyo-writes";
import { planHistoricalDeal, type DealParties, type Directory } from "@/lib/features/backfill/plan";
import { backfillRequestSchema, backfillView, readCursor } from "@/lib/features/backfill/scope";
import type { KommoContact, KommoLead } from "@/lib/integrations/kommo/api-schemas";
import { eventUniqueId, type KommoAccountInfo } from "@/lib/features/sync/mapping";
import { syncSettingsSchema } from "@/lib/features/settings/settings";

const account: KommoAccountInfo = { kommoAccountId: 31_234_567, host: "acme.kommo.com", currency: "USD", country: "US" };
const PIPELINE = 7001;
const NEGOTIATION = 55;
const CREATED = 1_735_689_600; // 2025-01-01
const CLOSED = 1_738_368_000; // 2025-02-01

const directory: Directory = {
  pipelines: [
    {
      id: PIPELINE,
      name: "Sales",
      _embedded: {
        statuses: [
          { id: NEGOTIATION, name: "Negotiation", pipeline_id: PIPELINE },
          { id: 142, name: "Closed - won", pipeline_id: PIPELINE },
          { id: 143, name: "Closed - lost", pipeline_id: PIPELINE },
        ],
      },
    },
  ],
  users: new Map([[9, "Maria Manager"]]),
};

const settings = syncSettingsSchema.parse({
  stageLists: [
    { pipelineId: PIPELINE, statusId: NEGOTIATION, listId: "LsNeg1" },
    { pipelineId: PIPELINE, statusId: 142, listId: "LsWon1" },
  ],
  allDealsListId: "LsAll1",
});

const contact: KommoContact = {
  id: 501,
  first_name: "Jane",
  last_name: "Doe",
  custom_fields_values: [{ field_id: 1, field_code: "EMAIL", values: [{ value: "jane@example.com" }] }],
};

function parties(lead: Partial<KommoLead> = {}, withContact: KommoContact | null = contact): DealParties {
  return {
    lead: {
      id: 1001,
      name: "Website redesign",
      price: 12_500,
      responsible_user_id: 9,
      status_id: NEGOTIATION,
      pipeline_id: PIPELINE,
      created_at: CREATED,
      updated_at: CREATED + 100,
      closed_at: null,
      custom_fields_values: [],
      _embedded: { contacts: [{ id: 501, is_main: true }] },
      ...lead,
    },
    contact: withContact,
    company: { id: 77, name: "Example Corp", custom_fields_values: [] },
  };
}

describe("a historical deal", () => {
  it("an open deal: the profile as a live sync sends it, its lists, and Deal Created at its creation, as backfill", () => {
    const outcome = planHistoricalDeal(parties(), directory, account, settings);
    if (!("plan" in outcome)) throw new Error(outcome.skip);
    const { plan } = outcome;
    expect(plan.profile).toMatchObject({ email: "jane@example.com", first_name: "Jane", organization: "Example Corp", properties: { crm_stage: "Negotiation", kommo_responsible: "Maria Manager" } });
    expect(plan.listIds).toEqual(["LsNeg1", "LsAll1"]);
    expect(plan.events).toEqual([
      expect.objectContaining({ metric: "Deal Created", backfill: true, time: new Date(CREATED * 1000).toISOString(), unique_id: eventUniqueId(account, 1001, "created", null, NEGOTIATION, CREATED) }),
    ]);
    expect(plan.nextState).toMatchObject({ statusId: NEGOTIATION, stageName: "Negotiation", email: "jane@example.com", listIds: ["LsNeg1", "LsAll1"] });
  });

  it("a won deal: Deal Won at Kommo's closing time, not at its creation", () => {
    const outcome = planHistoricalDeal(parties({ status_id: 142, closed_at: CLOSED }), directory, account, settings);
    if (!("plan" in outcome)) throw new Error(outcome.skip);
    const won = outcome.plan.events.find((event) => event.metric === "Deal Won")!;
    expect(won).toMatchObject({ backfill: true, time: new Date(CLOSED * 1000).toISOString(), unique_id: eventUniqueId(account, 1001, "won", null, 142, CLOSED) });
    expect(outcome.plan.events.find((event) => event.metric === "Deal Created")!.time).toBe(new Date(CREATED * 1000).toISOString());
    expect(outcome.plan.closedAt).toEqual(new Date(CLOSED * 1000));
  });

  it("is skipped, with the mapping's reason, without a usable contact", () => {
    expect(planHistoricalDeal(parties({ _embedded: { contacts: [] } }, null), directory, account, settings)).toEqual({ skip: "no_contact" });
    expect(planHistoricalDeal(parties({}, null), directory, account, settings)).toEqual({ skip: "contact_unreadable" });
    expect(planHistoricalDeal(parties({}, { ...contact, custom_fields_values: [] }), directory, account, settings)).toEqual({ skip: "no_email" });
  });
});

describe("the widget's scope and view", () => {
  it("takes pipelines, open deals only and a start date; refuses anything else", () => {
    expect(backfillRequestSchema.parse({})).toEqual({});
    expect(backfillRequestSchema.parse({ scope: { pipelineIds: [7001], onlyOpen: true, since: "2025-01-01" } })).toEqual({
      scope: { pipelineIds: [7001], onlyOpen: true, since: "2025-01-01T00:00:00.000Z" },
    });
    expect(backfillRequestSchema.parse({ scope: { since: "2025-01-01T10:00:00+02:00" } }).scope?.since).toBe("2025-01-01T08:00:00.000Z");
    for (const scope of [{ pipelineIds: [] }, { pipelineIds: [-1] }, { onlyOpen: 1 }, { since: "yesterday" }, { since: "2999-01-01" }, { all: true }]) {
      expect(backfillRequestSchema.safeParse({ scope }).success, JSON.stringify(scope)).toBe(false);
    }
  });

  it("shows a cancelled run as failed, and reads an empty cursor as not started", () => {
    expect(backfillView({ id: "r", status: "cancelled", done: 5, total: null, errors: 0, lastError: "disconnected" }).status).toBe("failed");
    expect(readCursor(null)).toEqual({ owner: null, started: false, nextHref: null, pendingLists: {}, skipped: 0, failures: null });
  });
});

describe("bulk batches", () => {
  it("cut at the item limit and at the byte budget, never empty", () => {
    expect(sizedBatches([1, 2, 3, 4, 5], 2).map((batch) => batch.length)).toEqual([2, 2, 1]);
    const big = Array.from({ length: 10 }, () => "x".repeat(1000));
    expect(sizedBatches(big, 100, 2500).map((batch) => batch.length)).toEqual([2, 2, 2, 2, 2]);
    expect(sizedBatches(["x".repeat(5000)], 10, 100)).toHaveLength(1);
    expect(sizedBatches([], 10)).toEqual([]);
  });
});
