// The Kommo -> Klaviyo mapping (SPEC §3), rule by rule.
import { describe, expect, it } from "vitest";
import {
  eventUniqueId,
  mapDealToKlaviyo,
  type DealChange,
  type DealSnapshot,
  type KommoAccountInfo,
  type MappingInput,
  type MappingResult,
  type PreviousDealState,
  type SyncOperation,
} from "@/lib/features/sync/mapping";
import { syncSettingsSchema, type SyncSettings } from "@/lib/features/settings/settings";
import type { EventInput, ProfileAttributes } from "@/lib/integrations/klaviyo/types";

const PIPELINE = 7001;
const NEW = 54;
const NEGOTIATION = 55;
const WON = 142;
const LOST = 143;
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

const account: KommoAccountInfo = { kommoAccountId: 31_234_567, host: "acme.kommo.com", currency: "USD", country: "US" };

const settings = (overrides: Partial<SyncSettings> = {}): SyncSettings =>
  syncSettingsSchema.parse({
    stageLists: [
      { pipelineId: PIPELINE, statusId: NEW, listId: "LsNew1" },
      { pipelineId: PIPELINE, statusId: NEGOTIATION, listId: "LsNeg1" },
      { pipelineId: PIPELINE, statusId: WON, listId: "LsWon1" },
    ],
    allDealsListId: "LsAll1",
    removeFromPreviousList: true,
    ...overrides,
  });

const STAGE_NAMES: Record<number, string> = { [NEW]: "New lead", [NEGOTIATION]: "Negotiation", [WON]: "Closed - won", [LOST]: "Closed - lost" };

function deal(overrides: { lead?: Partial<DealSnapshot["lead"]>; contact?: Partial<NonNullable<DealSnapshot["mainContact"]>> | null } & Partial<Omit<DealSnapshot, "lead" | "mainContact">> = {}): DealSnapshot {
  const { lead, contact, ...rest } = overrides;
  const statusId = lead?.statusId ?? NEW;
  return {
    lead: {
      id: 1001,
      name: "Website redesign",
      price: 12_500,
      pipelineId: PIPELINE,
      statusId,
      responsibleUserName: "Maria Manager",
      lossReason: null,
      ...lead,
    },
    stageName: STAGE_NAMES[statusId] ?? null,
    pipelineName: "Sales",
    mainContact:
      contact === null
        ? null
        : { id: 501, firstName: "Jane", lastName: "Doe", emails: ["jane@example.com"], phones: ["(415) 555-2671"], ...contact },
    companyName: "Example Corp",
    ...rest,
  };
}

const previousAt = (statusId: number, extra: Partial<PreviousDealState> = {}): PreviousDealState => ({
  pipelineId: PIPELINE,
  statusId,
  stageName: STAGE_NAMES[statusId] ?? null,
  email: "jane@example.com",
  profileId: "01PROFILE",
  ...extra,
});

function map(input: Partial<MappingInput> & { changes?: DealChange[] }): MappingResult {
  return mapDealToKlaviyo({
    account,
    deal: deal(),
    changes: [{ kind: "created", changedAt: T0 }],
    previous: null,
    settings: settings(),
    ...input,
  });
}

function planned(result: MappingResult) {
  if ("skip" in result) throw new Error(`expected operations, got skip: ${result.skip}`);
  return result;
}

const upsertOf = (result: MappingResult): ProfileAttributes => {
  const op = planned(result).operations.find((operation) => operation.type === "upsertProfile");
  if (!op || op.type !== "upsertProfile") throw new Error("no upsert planned");
  return op.attributes;
};

const eventsOf = (result: MappingResult): EventInput[] =>
  planned(result).operations.flatMap((operation) => (operation.type === "createEvent" ? [operation.event] : []));

const listOps = (result: MappingResult) =>
  planned(result).operations.filter(
    (operation): operation is Extract<SyncOperation, { type: "addToList" | "removeFromList" }> =>
      operation.type === "addToList" || operation.type === "removeFromList",
  );

describe("profile", () => {
  it("sends the SPEC §3 attributes and properties, with real numbers", () => {
    const result = map({ deal: deal({ lead: { statusId: NEGOTIATION } }), changes: [{ kind: "updated", changedAt: T0 }] });
    expect(upsertOf(result)).toEqual({
      email: "jane@example.com",
      first_name: "Jane",
      last_name: "Doe",
      organization: "Example Corp",
      phone_number: "+14155552671",
      properties: {
        crm_stage: "Negotiation",
        deal_amount: 12_500,
        kommo_deal_id: 1001,
        kommo_pipeline: "Sales",
        kommo_deal_name: "Website redesign",
        kommo_responsible: "Maria Manager",
        kommo_deal_url: "https://acme.kommo.com/leads/detail/1001",
      },
    });
    expect(planned(result).warnings).toEqual([]);
  });

  it("uses the deal URL host of the account (legacy amocrm hosts too)", () => {
    const result = map({ account: { ...account, host: "oldshop.amocrm.ru" } });
    expect(upsertOf(result).properties?.kommo_deal_url).toBe("https://oldshop.amocrm.ru/leads/detail/1001");
  });

  it("never sends external_id, anywhere", () => {
    const result = map({ deal: deal({ lead: { statusId: WON } }), changes: [{ kind: "created", changedAt: T0 }] });
    expect(JSON.stringify(result)).not.toContain("external_id");
  });

  it("takes the first EMAIL value of the main contact, trimmed", () => {
    const result = map({ deal: deal({ contact: { emails: ["  ", " first@example.com ", "second@example.com"] } }) });
    expect(upsertOf(result).email).toBe("first@example.com");
    expect(eventsOf(result)[0]!.profile).toEqual({ email: "first@example.com" });
  });

  it("skips a contact without email, with the reason", () => {
    expect(map({ deal: deal({ contact: { emails: [] } }) })).toEqual({ skip: "no_email", warnings: [] });
    expect(map({ deal: deal({ contact: { emails: ["", "   "] } }) })).toEqual({ skip: "no_email", warnings: [] });
  });

  it("skips a deal without main contact, and an email that is not an address", () => {
    expect(map({ deal: deal({ contact: null }) })).toEqual({ skip: "no_contact", warnings: [] });
    expect(map({ deal: deal({ contact: { emails: ["jane at example"] } }) })).toEqual({ skip: "invalid_email", detail: '"jane at example"', warnings: [] });
  });

  it("normalises the phone to E.164 with the account's country", () => {
    const russian = map({ account: { ...account, country: "RU" }, deal: deal({ contact: { phones: ["8 (912) 345-67-89"] } }) });
    expect(upsertOf(russian).phone_number).toBe("+79123456789");
    const german = map({ account: { ...account, country: "de" }, deal: deal({ contact: { phones: ["0171 1234567"] } }) });
    expect(upsertOf(german).phone_number).toBe("+491711234567");
    const international = map({ account: { ...account, country: null }, deal: deal({ contact: { phones: ["+44 20 7946 0958"] } }) });
    expect(upsertOf(international).phone_number).toBe("+442079460958");
  });

  it("drops an invalid phone with a warning and still syncs the profile", () => {
    const result = map({ deal: deal({ contact: { phones: ["12345"] } }) });
    const attributes = upsertOf(result);
    expect(attributes).not.toHaveProperty("phone_number");
    expect(attributes.email).toBe("jane@example.com");
    expect(planned(result).warnings).toEqual(['phone "12345" is not a valid number for country US; profile synced without a phone']);
  });

  it("reads a national number as the account's country, so the same digits can be invalid elsewhere", () => {
    const result = map({ account: { ...account, country: "US" }, deal: deal({ contact: { phones: ["8 (912) 345-67-89"] } }) });
    expect(upsertOf(result)).not.toHaveProperty("phone_number");
    expect(planned(result).warnings).toHaveLength(1);
  });

  it("leaves the phone out (not null) when the contact has none, so Klaviyo keeps the identifier it has", () => {
    const result = map({ deal: deal({ contact: { phones: [] } }) });
    expect(upsertOf(result)).not.toHaveProperty("phone_number");
    expect(planned(result).warnings).toEqual([]);
  });

  it("sends cleared Kommo fields as null so that Klaviyo clears them", () => {
    const result = map({
      deal: deal({
        lead: { name: "  ", price: null, responsibleUserName: null },
        contact: { firstName: "", lastName: null },
        companyName: null,
        pipelineName: null,
      }),
    });
    const attributes = upsertOf(result);
    expect(attributes.first_name).toBeNull();
    expect(attributes.last_name).toBeNull();
    expect(attributes.organization).toBeNull();
    expect(attributes.properties).toMatchObject({ deal_amount: null, kommo_deal_name: null, kommo_responsible: null, kommo_pipeline: null });
  });

  it("keeps a zero amount as the number 0", () => {
    expect(upsertOf(map({ deal: deal({ lead: { price: 0 } }) })).properties?.deal_amount).toBe(0);
  });

  it.each([
    [WON, 7001, "Won"],
    [WON, 8002, "Won"],
    [LOST, 7001, "Lost"],
    [LOST, 8002, "Lost"],
  ])("crm_stage is %s -> fixed name in pipeline %s whatever Kommo calls the stage", (statusId, pipelineId, expected) => {
    const result = map({ deal: deal({ lead: { statusId, pipelineId }, stageName: "Успешно реализовано" }) });
    expect(upsertOf(result).properties?.crm_stage).toBe(expected);
  });
});

describe("events", () => {
  it("Deal Created on a new lead, with SPEC properties, value, currency and Kommo's change time", () => {
    const result = map({});
    expect(eventsOf(result)).toEqual([
      {
        metric: "Deal Created",
        profile: { email: "jane@example.com" },
        time: "2026-01-01T00:00:00.000Z",
        value: 12_500,
        value_currency: "USD",
        properties: {
          deal_name: "Website redesign",
          deal_stage: "New lead",
          deal_amount: 12_500,
          kommo_deal_id: 1001,
          pipeline: "Sales",
          responsible: "Maria Manager",
        },
        unique_id: `kommo:31234567:lead:1001:created:none-${NEW}:${T0}`,
      },
    ]);
  });

  it("Stage Changed on a stage change, with previous_stage and deal_stage", () => {
    const result = map({
      deal: deal({ lead: { statusId: NEGOTIATION } }),
      previous: previousAt(NEW),
      changes: [{ kind: "stage_changed", changedAt: T0 + 60, previousStatusId: NEW }],
    });
    const [event, ...rest] = eventsOf(result);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      metric: "Stage Changed",
      time: "2026-01-01T00:01:00.000Z",
      properties: { previous_stage: "New lead", deal_stage: "Negotiation" },
      unique_id: `kommo:31234567:lead:1001:stage_changed:${NEW}-${NEGOTIATION}:${T0 + 60}`,
    });
  });

  it("takes the previous stage from the change when nothing was synced before", () => {
    const result = map({
      deal: deal({ lead: { statusId: NEGOTIATION } }),
      previous: null,
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEW, previousStageName: "New lead" }],
    });
    expect(eventsOf(result).map((event) => [event.metric, event.properties.previous_stage])).toEqual([["Stage Changed", "New lead"]]);
  });

  it("Stage Changed + Deal Won on entering 142, in any pipeline", () => {
    for (const pipelineId of [PIPELINE, 8002]) {
      const result = map({
        deal: deal({ lead: { statusId: WON, pipelineId } }),
        previous: previousAt(NEGOTIATION, { pipelineId }),
        changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEGOTIATION }],
      });
      const events = eventsOf(result);
      expect(events.map((event) => event.metric)).toEqual(["Stage Changed", "Deal Won"]);
      expect(events[0]!.properties).toMatchObject({ previous_stage: "Negotiation", deal_stage: "Won" });
      expect(events[1]!.properties).toMatchObject({ deal_stage: "Won", deal_amount: 12_500 });
      expect(events[1]!.properties).not.toHaveProperty("loss_reason");
    }
  });

  it("Stage Changed + Deal Lost with the loss reason on entering 143", () => {
    const result = map({
      deal: deal({ lead: { statusId: LOST, lossReason: "Too expensive" } }),
      previous: previousAt(NEGOTIATION),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEGOTIATION }],
    });
    const events = eventsOf(result);
    expect(events.map((event) => event.metric)).toEqual(["Stage Changed", "Deal Lost"]);
    expect(events[1]!.properties).toMatchObject({ deal_stage: "Lost", loss_reason: "Too expensive" });
    expect(events[0]!.properties).not.toHaveProperty("loss_reason");
  });

  it("Deal Lost without a reason carries loss_reason null", () => {
    const result = map({
      deal: deal({ lead: { statusId: LOST } }),
      previous: previousAt(NEW),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEW }],
    });
    expect(eventsOf(result)[1]!.properties.loss_reason).toBeNull();
  });

  it("a deal created straight into Won gets Deal Created and Deal Won, no Stage Changed", () => {
    const result = map({ deal: deal({ lead: { statusId: WON } }) });
    expect(eventsOf(result).map((event) => event.metric)).toEqual(["Deal Created", "Deal Won"]);
  });

  it("no event for an update that does not move the deal", () => {
    const result = map({ deal: deal({ lead: { statusId: WON } }), previous: previousAt(WON), changes: [{ kind: "updated", changedAt: T0 }] });
    expect(eventsOf(result)).toEqual([]);
  });

  it("no stage events on the first sight of a deal that existed before (no previous stage known)", () => {
    const result = map({ deal: deal({ lead: { statusId: NEGOTIATION } }), previous: null, changes: [{ kind: "updated", changedAt: T0 }] });
    expect(eventsOf(result)).toEqual([]);
  });

  it("an update that finds the deal in another stage than we last sent reports the move", () => {
    const result = map({ deal: deal({ lead: { statusId: NEGOTIATION } }), previous: previousAt(NEW), changes: [{ kind: "updated", changedAt: T0 }] });
    expect(eventsOf(result).map((event) => [event.metric, event.properties.previous_stage, event.properties.deal_stage])).toEqual([
      ["Stage Changed", "New lead", "Negotiation"],
    ]);
  });

  it("a stage_changed delivery that does not change the stage sends no stage event", () => {
    const result = map({
      deal: deal({ lead: { statusId: NEGOTIATION } }),
      previous: previousAt(NEGOTIATION),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEGOTIATION }],
    });
    expect(eventsOf(result)).toEqual([]);
  });

  it("a burst of changes in one sync: one upsert, every event once, in order", () => {
    const result = map({
      deal: deal({ lead: { statusId: WON }, stageNames: { [NEW]: "New lead" } }),
      previous: null,
      changes: [
        { kind: "created", changedAt: T0, statusId: NEW },
        { kind: "stage_changed", changedAt: T0 + 5, previousStatusId: NEW, statusId: NEGOTIATION, stageName: "Negotiation" },
        { kind: "stage_changed", changedAt: T0 + 9, previousStatusId: NEGOTIATION, statusId: WON },
      ],
    });
    const operations = planned(result).operations;
    expect(operations.filter((operation) => operation.type === "upsertProfile")).toHaveLength(1);
    expect(eventsOf(result).map((event) => [event.metric, event.properties.previous_stage ?? null, event.properties.deal_stage, event.time])).toEqual([
      ["Deal Created", null, "New lead", "2026-01-01T00:00:00.000Z"],
      ["Stage Changed", "New lead", "Negotiation", "2026-01-01T00:00:05.000Z"],
      ["Stage Changed", "Negotiation", "Won", "2026-01-01T00:00:09.000Z"],
      ["Deal Won", null, "Won", "2026-01-01T00:00:09.000Z"],
    ]);
    // The contact ends up in the lists of where the deal is now, not of the stages it passed.
    expect(listOps(result).map((operation) => [operation.type, operation.listId])).toEqual([
      ["addToList", "LsWon1"],
      ["addToList", "LsAll1"],
    ]);
  });

  it("a late creation delivery gives the same ids as the first one (no duplicate Deal Won)", () => {
    const first = map({ deal: deal({ lead: { statusId: WON } }), previous: null });
    const late = map({ deal: deal({ lead: { statusId: WON } }), previous: previousAt(WON) });
    expect(eventsOf(late).map((event) => event.unique_id)).toEqual(eventsOf(first).map((event) => event.unique_id));
  });

  it("uses the event names from the settings, and leaves out the ones switched off", () => {
    const renamed = settings({ events: { dealCreated: "CRM: new deal", stageChanged: null, dealWon: "CRM: won", dealLost: null } });
    const created = map({ deal: deal({ lead: { statusId: WON } }), settings: renamed });
    expect(eventsOf(created).map((event) => event.metric)).toEqual(["CRM: new deal", "CRM: won"]);
    const lost = map({
      deal: deal({ lead: { statusId: LOST } }),
      previous: previousAt(NEW),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEW }],
      settings: renamed,
    });
    expect(eventsOf(lost)).toEqual([]);
    const allOff = settings({ events: { dealCreated: null, stageChanged: null, dealWon: null, dealLost: null } });
    expect(eventsOf(map({ settings: allOff }))).toEqual([]);
    expect(upsertOf(map({ settings: allOff })).email).toBe("jane@example.com");
  });

  it("value_currency is the Kommo account's currency", () => {
    expect(eventsOf(map({ account: { ...account, currency: "EUR" } }))[0]!.value_currency).toBe("EUR");
    expect(eventsOf(map({ account: { ...account, currency: "rub" } }))[0]!.value_currency).toBe("RUB");
    expect(eventsOf(map({ account: { ...account, currency: null } }))[0]).not.toHaveProperty("value_currency");
    const odd = map({ account: { ...account, currency: "Euro" } });
    expect(eventsOf(odd)[0]).not.toHaveProperty("value_currency");
    expect(planned(odd).warnings).toEqual(['account currency "Euro" is not an ISO 4217 code; events sent without value_currency']);
  });

  it("an event without amount has no value (and no currency)", () => {
    const event = eventsOf(map({ deal: deal({ lead: { price: null } }) }))[0]!;
    expect(event).not.toHaveProperty("value");
    expect(event).not.toHaveProperty("value_currency");
    expect(event.properties.deal_amount).toBeNull();
  });

  it("marks every event of a historical import as backfill, and no other", () => {
    const backfill = map({ deal: deal({ lead: { statusId: WON } }), options: { backfill: true } });
    expect(eventsOf(backfill).map((event) => event.backfill)).toEqual([true, true]);
    expect(eventsOf(map({}))[0]).not.toHaveProperty("backfill");
  });
});

describe("unique_id", () => {
  const stageChange = (changedAt: number, from: number, to: number) =>
    eventsOf(
      map({
        deal: deal({ lead: { statusId: to } }),
        previous: previousAt(from),
        changes: [{ kind: "stage_changed", changedAt, previousStatusId: from }],
      }),
    ).map((event) => event.unique_id);

  it("is the same on a retry of the same change", () => {
    expect(stageChange(T0, NEW, WON)).toEqual(stageChange(T0, NEW, WON));
  });

  it("differs for two real changes in the same second", () => {
    const [onward] = stageChange(T0, NEW, NEGOTIATION);
    const [back] = stageChange(T0, NEGOTIATION, NEW);
    const [further] = stageChange(T0, NEGOTIATION, WON);
    expect(new Set([onward, back, further]).size).toBe(3);
  });

  it("differs for the same move at another time, and per Kommo account and lead", () => {
    expect(stageChange(T0, NEW, NEGOTIATION)).not.toEqual(stageChange(T0 + 1, NEW, NEGOTIATION));
    expect(eventUniqueId(account, 1001, "won", NEW, WON, T0)).not.toBe(eventUniqueId({ ...account, kommoAccountId: 2 }, 1001, "won", NEW, WON, T0));
    expect(eventUniqueId(account, 1001, "won", NEW, WON, T0)).not.toBe(eventUniqueId(account, 1002, "won", NEW, WON, T0));
  });

  it("differs between the events of one change", () => {
    const ids = stageChange(T0, NEGOTIATION, WON);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  });
});

describe("lists", () => {
  it("first sync: adds the stage's list and the all-deals list, after the upsert", () => {
    const result = map({ deal: deal({ lead: { statusId: NEGOTIATION } }), changes: [{ kind: "updated", changedAt: T0 }] });
    expect(planned(result).operations.map((operation) => operation.type)).toEqual(["upsertProfile", "addToList", "addToList"]);
    expect(listOps(result)).toEqual([
      { type: "addToList", listId: "LsNeg1", profileId: null },
      { type: "addToList", listId: "LsAll1", profileId: null },
    ]);
  });

  it("a move adds the new stage's list, then removes the previous stage's list, before the events", () => {
    const result = map({
      deal: deal({ lead: { statusId: WON } }),
      previous: previousAt(NEGOTIATION, { listIds: ["LsNeg1", "LsAll1"] }),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEGOTIATION }],
    });
    expect(planned(result).operations.map((operation) => operation.type)).toEqual([
      "upsertProfile",
      "addToList",
      "removeFromList",
      "createEvent",
      "createEvent",
    ]);
    expect(listOps(result)).toEqual([
      { type: "addToList", listId: "LsWon1", profileId: null },
      { type: "removeFromList", listId: "LsNeg1", profileId: "01PROFILE" },
    ]);
    expect(planned(result).nextState.listIds.sort()).toEqual(["LsAll1", "LsWon1"]);
  });

  it("keeps the previous list when removal is off", () => {
    const result = map({
      deal: deal({ lead: { statusId: WON } }),
      previous: previousAt(NEGOTIATION, { listIds: ["LsNeg1", "LsAll1"] }),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEGOTIATION }],
      settings: settings({ removeFromPreviousList: false }),
    });
    expect(listOps(result)).toEqual([{ type: "addToList", listId: "LsWon1", profileId: null }]);
    expect(planned(result).nextState.listIds.sort()).toEqual(["LsAll1", "LsNeg1", "LsWon1"]);
  });

  it("does not remove a list the contact's other deals keep it in", () => {
    const result = map({
      deal: deal({ lead: { statusId: WON } }),
      previous: previousAt(NEGOTIATION),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEGOTIATION }],
      keepListIds: ["LsNeg1"],
    });
    expect(listOps(result).map((operation) => operation.type)).not.toContain("removeFromList");
  });

  it("does not remove the list the deal moves into (two stages, one list)", () => {
    const shared = settings({
      stageLists: [
        { pipelineId: PIPELINE, statusId: NEW, listId: "LsOpen1" },
        { pipelineId: PIPELINE, statusId: NEGOTIATION, listId: "LsOpen1" },
      ],
    });
    const result = map({
      deal: deal({ lead: { statusId: NEGOTIATION } }),
      previous: previousAt(NEW, { listIds: ["LsOpen1", "LsAll1"] }),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEW }],
      settings: shared,
    });
    expect(listOps(result)).toEqual([]);
  });

  it("a stage without a list only touches the all-deals list; no all-deals list, no list calls", () => {
    const unmapped = map({ deal: deal({ lead: { statusId: 99 } }), changes: [{ kind: "updated", changedAt: T0 }] });
    expect(listOps(unmapped)).toEqual([{ type: "addToList", listId: "LsAll1", profileId: null }]);
    const none = map({ deal: deal({ lead: { statusId: 99 } }), changes: [{ kind: "updated", changedAt: T0 }], settings: settings({ allDealsListId: null }) });
    expect(listOps(none)).toEqual([]);
  });

  it("does not add again the lists the profile is known to be in; adds them when membership is not tracked", () => {
    const tracked = map({ deal: deal({ lead: { statusId: NEGOTIATION } }), previous: previousAt(NEGOTIATION, { listIds: ["LsNeg1", "LsAll1"] }), changes: [{ kind: "updated", changedAt: T0 }] });
    expect(listOps(tracked)).toEqual([]);
    const untracked = map({ deal: deal({ lead: { statusId: NEGOTIATION } }), previous: previousAt(NEGOTIATION), changes: [{ kind: "updated", changedAt: T0 }] });
    expect(listOps(untracked).map((operation) => operation.listId)).toEqual(["LsNeg1", "LsAll1"]);
  });

  it("when the contact's email changed, adds the new profile and removes the old one by its id", () => {
    const result = map({
      deal: deal({ lead: { statusId: WON }, contact: { emails: ["jane.new@example.com"] } }),
      previous: previousAt(NEGOTIATION, { listIds: ["LsNeg1", "LsAll1"] }),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEGOTIATION }],
    });
    expect(listOps(result)).toEqual([
      { type: "addToList", listId: "LsWon1", profileId: null },
      { type: "addToList", listId: "LsAll1", profileId: null },
      { type: "removeFromList", listId: "LsNeg1", profileId: "01PROFILE" },
    ]);
  });

  it("never plans anything but profile upserts, list membership and events (no consent calls)", () => {
    const result = map({
      deal: deal({ lead: { statusId: WON } }),
      previous: previousAt(NEGOTIATION),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEGOTIATION }],
    });
    for (const operation of planned(result).operations) expect(["upsertProfile", "addToList", "removeFromList", "createEvent"]).toContain(operation.type);
    expect(JSON.stringify(result)).not.toMatch(/subscri|consent/i);
  });
});

describe("unchanged profiles and deletions", () => {
  const settled = (): Partial<MappingInput> => {
    const first = planned(map({ deal: deal({ lead: { statusId: NEGOTIATION } }), changes: [{ kind: "updated", changedAt: T0 }] }));
    return {
      deal: deal({ lead: { statusId: NEGOTIATION } }),
      previous: { ...previousAt(NEGOTIATION), listIds: first.nextState.listIds, profileFingerprint: first.nextState.profileFingerprint },
      changes: [{ kind: "updated", changedAt: T0 + 30 }],
    };
  };

  it("does not send a profile that has not changed since the last sync", () => {
    expect(planned(map(settled())).operations).toEqual([]);
  });

  it("sends it again when asked to (Sync now) or when a field changed", () => {
    expect(planned(map({ ...settled(), options: { force: true } })).operations.map((operation) => operation.type)).toEqual(["upsertProfile"]);
    expect(planned(map({ ...settled(), deal: deal({ lead: { statusId: NEGOTIATION, price: 99 } }) })).operations.map((operation) => operation.type)).toEqual([
      "upsertProfile",
    ]);
  });

  it("a stage change of a known profile sends the profile with its event: no profile call of its own", () => {
    const input = settled();
    const result = planned(
      map({ ...input, deal: deal({ lead: { statusId: WON } }), changes: [{ kind: "stage_changed", changedAt: T0 + 60, statusId: WON, previousStatusId: NEGOTIATION }] }),
    );
    expect(result.operations.map((operation) => operation.type)).toEqual(["addToList", "removeFromList", "createEvent", "createEvent"]);
    for (const operation of listOps(result)) expect(operation.profileId).toBe("01PROFILE");
    for (const event of eventsOf(result)) {
      // Identified by the email; the new stage and amount ride along. The phone is unchanged and stays off.
      expect(event.profile).toEqual({
        email: "jane@example.com",
        first_name: "Jane",
        last_name: "Doe",
        organization: "Example Corp",
        properties: expect.objectContaining({ crm_stage: "Won", deal_amount: 12_500, kommo_deal_id: 1001 }),
      });
    }
  });

  it("a separate profile call when the identifiers changed, when asked to (Sync now), when there is no event, or for a new profile", () => {
    const input = settled();
    const won = { deal: deal({ lead: { statusId: WON } }), changes: [{ kind: "stage_changed" as const, changedAt: T0 + 60, statusId: WON, previousStatusId: NEGOTIATION }] };
    const types = (result: MappingResult) => planned(result).operations.map((operation) => operation.type);
    expect(types(map({ ...input, ...won, deal: deal({ lead: { statusId: WON }, contact: { phones: ["(415) 555-0000"] } }) }))[0]).toBe("upsertProfile");
    expect(types(map({ ...input, ...won, options: { force: true } }))[0]).toBe("upsertProfile");
    expect(types(map({ ...input, deal: deal({ lead: { statusId: NEGOTIATION, price: 99 } }) }))).toEqual(["upsertProfile"]);
    expect(types(map({ ...input, ...won, previous: { ...input.previous!, profileId: null } }))[0]).toBe("upsertProfile");
    // A fingerprint from before identifiers were told apart: sent separately once.
    expect(types(map({ ...input, ...won, previous: { ...input.previous!, profileFingerprint: "f".repeat(32).slice(0, 31) } }))[0]).toBe("upsertProfile");
  });

  it("list calls without an upsert name the known profile id", () => {
    const input = settled();
    const result = map({ ...input, previous: { ...input.previous!, listIds: [] } });
    expect(listOps(result)).toEqual([
      { type: "addToList", listId: "LsNeg1", profileId: "01PROFILE" },
      { type: "addToList", listId: "LsAll1", profileId: "01PROFILE" },
    ]);
  });

  it("a deleted deal leaves its stage's list and the all-deals list when the contact has no other live deal", () => {
    const result = map({ deal: null, previous: previousAt(NEGOTIATION, { listIds: ["LsNeg1", "LsAll1"] }), changes: [{ kind: "deleted", changedAt: T0 }] });
    expect(planned(result).operations).toEqual([
      { type: "removeFromList", listId: "LsNeg1", profileId: "01PROFILE" },
      { type: "removeFromList", listId: "LsAll1", profileId: "01PROFILE" },
    ]);
    expect(planned(result).nextState.listIds).toEqual([]);
  });

  it("a deleted deal whose contact has another live deal keeps the contact in the all-deals list", () => {
    const result = map({
      deal: null,
      previous: previousAt(NEGOTIATION, { listIds: ["LsNeg1", "LsAll1"] }),
      changes: [{ kind: "deleted", changedAt: T0 }],
      keepListIds: ["LsAll1", "LsWon1"],
    });
    expect(planned(result).operations).toEqual([{ type: "removeFromList", listId: "LsNeg1", profileId: "01PROFILE" }]);
    expect(planned(result).nextState.listIds).toEqual(["LsAll1"]);
  });

  it("a deleted deal leaves the all-deals list even when lists do not mirror stages", () => {
    const result = map({
      deal: null,
      previous: previousAt(NEGOTIATION, { listIds: ["LsNeg1", "LsAll1"] }),
      changes: [{ kind: "deleted", changedAt: T0 }],
      settings: settings({ removeFromPreviousList: false }),
    });
    expect(planned(result).operations).toEqual([{ type: "removeFromList", listId: "LsAll1", profileId: "01PROFILE" }]);
  });

  it("a deleted deal is skipped when it holds no list to leave or nothing was synced", () => {
    const off = map({
      deal: null,
      previous: previousAt(NEGOTIATION, { listIds: ["LsNeg1"] }),
      changes: [{ kind: "deleted", changedAt: T0 }],
      settings: settings({ removeFromPreviousList: false }),
    });
    expect(off).toEqual({ skip: "deleted_unsynced", warnings: [] });
    expect(map({ deal: null, previous: null, changes: [{ kind: "deleted", changedAt: T0 }] })).toMatchObject({ skip: "deleted_unsynced" });
  });

  it("skips when the lead could not be read or there is no change", () => {
    expect(map({ deal: null, changes: [{ kind: "updated", changedAt: T0 }] })).toEqual({ skip: "deleted", warnings: [] });
    expect(map({ changes: [] })).toEqual({ skip: "no_change", warnings: [] });
  });

  it("returns the state to store for the next comparison", () => {
    const result = planned(map({ deal: deal({ lead: { statusId: WON } }), previous: previousAt(NEGOTIATION), changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEGOTIATION }] }));
    expect(result.nextState).toEqual({
      pipelineId: PIPELINE,
      statusId: WON,
      stageName: "Won",
      email: "jane@example.com",
      listIds: ["LsWon1", "LsAll1"],
      profileFingerprint: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });
});

describe("purity", () => {
  it("gives the same output for the same input and does not touch its input", () => {
    const input: MappingInput = {
      account,
      deal: deal({ lead: { statusId: WON } }),
      changes: [{ kind: "stage_changed", changedAt: T0, previousStatusId: NEGOTIATION }],
      previous: previousAt(NEGOTIATION, { listIds: ["LsNeg1"] }),
      settings: settings(),
      keepListIds: [],
    };
    const snapshot = structuredClone(input);
    const deepFreeze = (value: unknown) => {
      if (value && typeof value === "object") {
        Object.values(value).forEach(deepFreeze);
        Object.freeze(value);
      }
    };
    deepFreeze(input);
    expect(mapDealToKlaviyo(input)).toEqual(mapDealToKlaviyo(input));
    expect(input).toEqual(snapshot);
  });
});

describe("mapping: lengths of what Kommo sends", () => {
  it("skips a crafted 100 kB e-mail as invalid, without running the pattern over it", () => {
    // No dot after the @: the old pattern backtracked quadratically over this for seconds.
    const crafted = `a@${"b".repeat(100_000)}`;
    const result = map({ deal: deal({ contact: { emails: [crafted] } }) });
    expect(result).toMatchObject({ skip: "invalid_email", warnings: [] });
    // The detail names the value, cut to an address's length.
    expect("detail" in result && result.detail).toBe(`"${crafted.slice(0, 254)}…"`);
  });

  it("e-mail: 254 characters is an address, 255 is not", () => {
    const domain = `${"d".repeat(63)}.${"e".repeat(63)}.${"f".repeat(63)}.com`; // 195 characters
    const at254 = `${"j".repeat(254 - domain.length - 1)}@${domain}`;
    expect(at254).toHaveLength(254);
    expect(upsertOf(map({ deal: deal({ contact: { emails: [at254] } }) })).email).toBe(at254);
    const at255 = `j${at254}`;
    expect(map({ deal: deal({ contact: { emails: [at255] } }) })).toMatchObject({ skip: "invalid_email" });
  });

  it("phone: a number longer than 64 characters is not parsed; the profile goes without it, with a warning", () => {
    const long = `+14155552671${"0".repeat(53)}`;
    expect(long).toHaveLength(65);
    const result = map({ deal: deal({ contact: { phones: [long] } }) });
    expect(upsertOf(result).phone_number).toBeUndefined();
    expect("warnings" in result && result.warnings).toEqual([expect.stringContaining("longer than any number (64)")]);
    // At the limit, a real number with padding still parses.
    const padded = `+1${" ".repeat(48)}(415) 555-2671`;
    expect(padded).toHaveLength(64);
    expect(upsertOf(map({ deal: deal({ contact: { phones: [padded] } }) })).phone_number).toBe("+14155552671");
  });

  it("names: contact, company, deal, responsible, pipeline and stage names are cut to 255 characters", () => {
    const huge = "N".repeat(100_000);
    const result = map({
      deal: deal({
        contact: { firstName: huge, lastName: ` ${huge}` },
        companyName: huge,
        pipelineName: huge,
        stageName: huge,
        lead: { name: huge, responsibleUserName: huge },
      }),
    });
    const attributes = upsertOf(result);
    for (const value of [attributes.first_name, attributes.last_name, attributes.organization]) expect(value).toBe("N".repeat(255));
    const properties = attributes.properties as Record<string, unknown>;
    for (const key of ["crm_stage", "kommo_pipeline", "kommo_deal_name", "kommo_responsible"]) expect(properties[key], key).toBe("N".repeat(255));
    const event = eventsOf(result)[0]!;
    expect(event.properties?.deal_name).toBe("N".repeat(255));
  });

  it("codes: a huge currency or country is cut before it is looked at, and then refused", () => {
    const result = map({ account: { ...account, currency: "U".repeat(100_000), country: "Z".repeat(100_000) } });
    expect(eventsOf(result)[0]!.value_currency).toBeUndefined();
    expect("warnings" in result && result.warnings).toContain(`account currency "${"U".repeat(64)}" is not an ISO 4217 code; events sent without value_currency`);
    // The country is no region either: the phone is read without one.
    expect("warnings" in result && result.warnings).toContain('phone "(415) 555-2671" is not a valid number; profile synced without a phone');
  });
});
