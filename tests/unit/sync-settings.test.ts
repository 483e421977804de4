// The sync settings (SPEC §4 body): defaults, validation, and the PUT semantics.
import { describe, expect, it } from "vitest";
import {
  applySettingsUpdate,
  DEFAULT_SETTINGS,
  readStoredSettings,
  settingsUpdateSchema,
  syncSettingsSchema,
} from "@/lib/features/settings/settings";

describe("sync settings", () => {
  it("defaults: SPEC event names, no lists, lists mirror stages, activity notes on", () => {
    expect(DEFAULT_SETTINGS).toEqual({
      stageLists: [],
      allDealsListId: null,
      removeFromPreviousList: true,
      events: { dealCreated: "Deal Created", stageChanged: "Stage Changed", dealWon: "Deal Won", dealLost: "Deal Lost" },
      activityNotes: true,
      deleteProfileOnContactDelete: false,
      consent: { statusField: false, optInFieldId: null, optInListId: null },
    });
  });

  it("accepts the SPEC example body (without the key)", () => {
    const body = {
      stageLists: [{ pipelineId: 7001, statusId: 142, listId: "LsWon1" }],
      allDealsListId: "LsAll1",
      removeFromPreviousList: true,
      events: { dealCreated: "Deal Created", stageChanged: "Stage Changed", dealWon: "Deal Won", dealLost: null },
      activityNotes: true,
      consent: { statusField: true, optInFieldId: 583921, optInListId: "LsNews1" },
    };
    expect(syncSettingsSchema.parse(body)).toEqual({ ...body, deleteProfileOnContactDelete: false });
  });

  it("consent: a partial update merges, null turns opt-in off, the field id is a Kommo id", () => {
    const current = syncSettingsSchema.parse({ consent: { statusField: true, optInFieldId: 583921, optInListId: "LsNews1" } });
    expect(applySettingsUpdate(current, settingsUpdateSchema.parse({ consent: { optInFieldId: null } })).consent).toEqual({
      statusField: true,
      optInFieldId: null,
      optInListId: "LsNews1",
    });
    expect(settingsUpdateSchema.safeParse({ consent: { optInFieldId: "abc" } }).success).toBe(false);
    expect(settingsUpdateSchema.safeParse({ consent: { subscribeEveryone: true } }).success).toBe(false);
    expect(readStoredSettings({ consent: { statusField: "yes" } }).consent).toEqual(DEFAULT_SETTINGS.consent);
  });

  it("rejects a stage mapped twice, bad list ids and bad event names", () => {
    const twice = syncSettingsSchema.safeParse({
      stageLists: [
        { pipelineId: 1, statusId: 2, listId: "A1" },
        { pipelineId: 1, statusId: 2, listId: "B2" },
      ],
    });
    expect(twice.success).toBe(false);
    expect(twice.error?.issues[0]?.message).toContain("mapped twice");
    expect(syncSettingsSchema.safeParse({ allDealsListId: "not a list!" }).success).toBe(false);
    expect(syncSettingsSchema.safeParse({ stageLists: [{ pipelineId: -1, statusId: 2, listId: "A1" }] }).success).toBe(false);
    const events = (name: unknown) => syncSettingsSchema.safeParse({ events: { ...DEFAULT_SETTINGS.events, dealWon: name } }).success;
    expect(events("  ")).toBe(false);
    expect(events("x".repeat(128))).toBe(false);
    expect(events("x".repeat(127))).toBe(true);
    expect(events(null)).toBe(true);
  });

  it("a PUT body may omit anything, rejects unknown fields, and checks the key's form", () => {
    expect(settingsUpdateSchema.parse({})).toEqual({});
    expect(settingsUpdateSchema.safeParse({ stageList: [] }).success).toBe(false);
    expect(settingsUpdateSchema.safeParse({ klaviyoApiKey: "AbC123" }).success).toBe(false);
    expect(settingsUpdateSchema.parse({ klaviyoApiKey: " pk_0123456789abcdef " }).klaviyoApiKey).toBe("pk_0123456789abcdef");
  });

  it("an omitted field keeps its value; null clears the all-deals list; event names merge", () => {
    const current = syncSettingsSchema.parse({
      stageLists: [{ pipelineId: 1, statusId: 2, listId: "A1" }],
      allDealsListId: "All1",
      removeFromPreviousList: false,
    });
    expect(applySettingsUpdate(current, {})).toEqual(current);
    const updated = applySettingsUpdate(current, settingsUpdateSchema.parse({ allDealsListId: null, events: { dealLost: null } }));
    expect(updated).toEqual({ ...current, allDealsListId: null, events: { ...current.events, dealLost: null } });
    expect(applySettingsUpdate(current, { stageLists: [] }).stageLists).toEqual([]);
  });

  it("reads stored settings field by field, so one bad field does not lose the others", () => {
    expect(readStoredSettings(null)).toEqual(DEFAULT_SETTINGS);
    const stored = readStoredSettings({ allDealsListId: "All1", removeFromPreviousList: "yes", events: { dealCreated: "New" } });
    expect(stored.allDealsListId).toBe("All1");
    expect(stored.removeFromPreviousList).toBe(DEFAULT_SETTINGS.removeFromPreviousList);
    expect(stored.events).toEqual({ ...DEFAULT_SETTINGS.events, dealCreated: "New" });
    expect(readStoredSettings({ events: { dealWon: 42 } }).events).toEqual(DEFAULT_SETTINGS.events);
  });
});
