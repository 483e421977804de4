// Which changes of Kommo's events feed no webhook covered, and the rows reconciliation records for them.
import { describe, expect, it } from "vitest";
import { kommoEventSchema, type KommoEvent } from "@/lib/features/reconcile/kommo-events";
import { missedChanges, reconcileDue, reconcileWindow, type LeadFacts } from "@/lib/features/reconcile/reconcile";

const T = 1_780_000_000;
const at = (seconds: number) => new Date(seconds * 1000);

/** An event as Kommo's API sends it, through the same schema the client uses. */
const event = (raw: Record<string, unknown>): KommoEvent =>
  kommoEventSchema.parse({ id: "01evt", entity_type: "lead", created_by: 1, account_id: 9, value_after: [], value_before: [], ...raw });

const statusChange = (leadId: number, from: number, to: number, createdAt = T) =>
  event({ id: `sc-${leadId}-${createdAt}`, type: "lead_status_changed", entity_id: leadId, created_at: createdAt, value_before: [{ lead_status: { id: from, pipeline_id: 7 } }], value_after: [{ lead_status: { id: to, pipeline_id: 7 } }] });

const facts = (byLead: Record<number, Partial<LeadFacts>>) => (leadId: number): LeadFacts => ({ recorded: [], synced: false, deleted: false, ...byLead[leadId] });

describe("missed changes", () => {
  it("a status change with no webhook at or after it becomes a status_lead row with Kommo's stages and time", () => {
    expect(missedChanges([statusChange(5, 10, 11)], facts({}))).toEqual([
      {
        kind: "status_lead",
        leadId: 5,
        contactId: null,
        changedAt: at(T).toISOString(),
        dedupeKey: `reconciliation:lead_status_changed:sc-5-${T}`,
        payload: { id: 5, status_id: 11, pipeline_id: 7, old_status_id: 10, old_pipeline_id: 7, kommo_event_id: `sc-5-${T}` },
      },
    ]);
  });

  it("a webhook of the lead at or after the change covers it; one before it does not", () => {
    const webhookAt = (seconds: number, kind = "status_lead") => facts({ 5: { recorded: [{ kind, changedAt: at(seconds) }] } });
    expect(missedChanges([statusChange(5, 10, 11)], webhookAt(T))).toEqual([]);
    expect(missedChanges([statusChange(5, 10, 11)], webhookAt(T + 30, "update_lead"))).toEqual([]);
    expect(missedChanges([statusChange(5, 10, 11)], webhookAt(T - 1))).toHaveLength(1);
    expect(missedChanges([statusChange(5, 10, 11)], webhookAt(T + 30, "update_contact"))).toHaveLength(1);
  });

  it("a lead added is missed only without its add_lead; a deletion only for a deal we synced", () => {
    const added = event({ id: "a1", type: "lead_added", entity_id: 6, created_at: T, value_after: [{ lead_status: { id: 10, pipeline_id: 7 } }] });
    expect(missedChanges([added], facts({}))).toMatchObject([{ kind: "add_lead", leadId: 6, payload: { id: 6, status_id: 10, pipeline_id: 7 } }]);
    expect(missedChanges([added], facts({ 6: { recorded: [{ kind: "add_lead", changedAt: at(T) }] } }))).toEqual([]);

    const deleted = event({ id: "d1", type: "lead_deleted", entity_id: 6, created_at: T });
    expect(missedChanges([deleted], facts({ 6: { synced: true } }))).toMatchObject([{ kind: "delete_lead", leadId: 6 }]);
    expect(missedChanges([deleted], facts({}))).toEqual([]);
    expect(missedChanges([deleted], facts({ 6: { synced: true, deleted: true } }))).toEqual([]);
    expect(missedChanges([deleted], facts({ 6: { synced: true, recorded: [{ kind: "delete_lead", changedAt: null }] } }))).toEqual([]);
  });

  it("a deleted contact is recorded for the privacy deletion; other entities and types are ignored", () => {
    const contact = event({ id: "c1", type: "contact_deleted", entity_type: "contact", entity_id: 77, created_at: T });
    expect(missedChanges([contact], facts({}))).toMatchObject([{ kind: "delete_contact", leadId: null, contactId: 77 }]);
    expect(missedChanges([event({ id: "x", type: "lead_status_changed", entity_type: "customer", entity_id: 1, created_at: T })], facts({}))).toEqual([]);
  });

  it("reads Kommo's numeric or string event ids and tolerates values without a stage", () => {
    expect(event({ id: 12345, type: "lead_added", entity_id: 1, created_at: T, value_after: null }).id).toBe("12345");
    expect(event({ type: "lead_added", entity_id: 1, created_at: T, value_after: [{ note: { id: 3 } }] }).value_after).toBeNull();
  });
});

describe("the window of a run", () => {
  const now = new Date("2026-06-01T12:00:00Z");
  it("starts one interval back on the first run and a little before the last one afterwards, ending before webhooks in flight", () => {
    expect(reconcileWindow({ reconciledUntil: null }, now)).toEqual({ from: new Date("2026-06-01T11:53:00Z"), to: new Date("2026-06-01T11:58:00Z") });
    expect(reconcileWindow({ reconciledUntil: new Date("2026-06-01T11:50:00Z") }, now)).toEqual({ from: new Date("2026-06-01T11:48:00Z"), to: new Date("2026-06-01T11:58:00Z") });
  });

  it("catches up a long pause in steps", () => {
    const window = reconcileWindow({ reconciledUntil: new Date("2026-05-01T00:00:00Z") }, now);
    expect(window.to.getTime() - window.from.getTime()).toBe(6 * 3600_000);
  });

  it("is due once the feed has moved an interval on", () => {
    expect(reconcileDue(null, now)).toBe(true);
    expect(reconcileDue(new Date("2026-06-01T11:56:00Z"), now)).toBe(false);
    expect(reconcileDue(new Date("2026-06-01T11:53:00Z"), now)).toBe(true);
  });
});
