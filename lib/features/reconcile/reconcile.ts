// Reconciliation (queue `reconcile`, every few minutes per account): Kommo drops webhooks now and
// then (status changes most of all), and some plans cannot register them at all. Kommo's events
// feed says what really happened; every change in it whose webhook never arrived is recorded as
// the webhook would have been (InboundEvent, source "reconciliation") and its lead's sync queued.
//
// A change seen both ways is applied once: a webhook that arrives after its reconciliation twin is
// a second row, but the mapping derives each Klaviyo event's unique_id from (account, lead, kind,
// stages, Kommo's change time), so Klaviyo keeps one event. The feed is read a little behind real
// time (GRACE_MS) so that webhooks in flight are not taken for lost.
import { db, type Account } from "@/lib/db/client";
import { defineJob, type JobContext } from "@/lib/jobs/define-job";
import { enqueueLeadSyncs } from "@/lib/features/sync/lead-jobs";
import { inTransaction } from "@/lib/db/sql-pool";
import { insertInboundEvents, recordedChanges } from "@/lib/db/inbound-events";
import { dealSyncFacts } from "@/lib/db/deals";
import { loadSettings } from "@/lib/features/settings/account-settings";
import { z } from "zod";
import { readKommoEvents, kommoTarget, type KommoEvent, type KommoEventType } from "./kommo-events";
import { deletePendingContacts } from "./contact-deletion";

export const RECONCILE_EVERY_MS = 5 * 60_000;
/** How long a webhook may take before its change counts as missed. */
export const GRACE_MS = 2 * 60_000;
/** One run reads at most this much of the feed (an account that was paused catches up run by run). */
export const MAX_WINDOW_MS = 6 * 3600_000;
/**
 * Each run re-reads this much before where the last one stopped: an event Kommo lists a little
 * late is still found. Events already recorded are the same rows (by Kommo's event id).
 */
export const OVERLAP_MS = 2 * 60_000;

/** One job per account: Kommo's events feed compared with the webhooks that arrived. */
export const reconcileJob = defineJob({
  name: "reconcile",
  payload: z.object({ accountId: z.uuid() }),
  queue: { policy: "short", retryLimit: 3, retryDelay: 30, retryBackoff: true, expireInSeconds: 600 },
  concurrency: 2,
  run: (payload, context) => runReconcileJob(payload, context),
});

/** The webhook kinds that carry a lead's stage: one of them at or after a status change saw it. */
const STAGE_KINDS = ["add_lead", "update_lead", "status_lead", "restore_lead", "responsible_lead"];

type Recorded = { kind: string; changedAt: Date | null };

export type InboundRow = {
  kind: "add_lead" | "status_lead" | "delete_lead" | "delete_contact";
  leadId: number | null;
  contactId: number | null;
  changedAt: string;
  payload: Record<string, unknown>;
  dedupeKey: string;
};

export type LeadFacts = { recorded: Recorded[]; synced: boolean; deleted: boolean };

/**
 * Which feed events no webhook covered, as the rows the webhook would have left. Pure: `facts`
 * says what we know of each lead (its recorded changes, whether it was synced or deleted).
 */
export function missedChanges(events: KommoEvent[], facts: (leadId: number) => LeadFacts): InboundRow[] {
  const rows: InboundRow[] = [];
  for (const event of events) {
    const at = new Date(event.created_at * 1000);
    const base = { changedAt: at.toISOString(), dedupeKey: `reconciliation:${event.type}:${event.id}` };
    if (event.type === "contact_deleted") {
      rows.push({ ...base, kind: "delete_contact", leadId: null, contactId: event.entity_id, payload: { id: event.entity_id, kommo_event_id: event.id } });
      continue;
    }
    if (event.entity_type !== "lead") continue;
    const lead = facts(event.entity_id);
    const seen = (kinds: string[], from?: Date) =>
      lead.recorded.some((change) => kinds.includes(change.kind) && (!from || (change.changedAt !== null && change.changedAt >= from)));
    const stage = event.value_after ? { status_id: event.value_after.statusId, pipeline_id: event.value_after.pipelineId } : {};
    if (event.type === "lead_added" && !seen(["add_lead"])) {
      rows.push({ ...base, kind: "add_lead", leadId: event.entity_id, contactId: null, payload: { id: event.entity_id, ...stage, kommo_event_id: event.id } });
    } else if (event.type === "lead_status_changed" && event.value_after && !seen(STAGE_KINDS, at)) {
      rows.push({
        ...base,
        kind: "status_lead",
        leadId: event.entity_id,
        contactId: null,
        payload: {
          id: event.entity_id,
          ...stage,
          ...(event.value_before && { old_status_id: event.value_before.statusId, old_pipeline_id: event.value_before.pipelineId }),
          kommo_event_id: event.id,
        },
      });
    } else if (event.type === "lead_deleted" && lead.synced && !lead.deleted && !seen(["delete_lead"])) {
      rows.push({ ...base, kind: "delete_lead", leadId: event.entity_id, contactId: null, payload: { id: event.entity_id, kommo_event_id: event.id } });
    }
  }
  return rows;
}

async function leadFacts(accountId: string, leadIds: number[]): Promise<(leadId: number) => LeadFacts> {
  const [recorded, deals] = await Promise.all([recordedChanges(accountId, leadIds), dealSyncFacts(accountId, leadIds)]);
  return (leadId) => {
    const deal = deals.find((row) => row.leadId === leadId);
    return {
      recorded: recorded.filter((row) => row.leadId === leadId),
      synced: deal?.synced ?? false,
      deleted: deal?.deleted ?? false,
    };
  };
}

export type ReconcileResult = { from: Date; to: Date; events: number; recorded: number; leads: number; calls: number; contactsDeleted: number };

/** Where a run reads: from (a little before) where the last one stopped, or (first run) one interval back. */
export function reconcileWindow(account: Pick<Account, "reconciledUntil">, now: Date, graceMs = GRACE_MS): { from: Date; to: Date } {
  const end = new Date(now.getTime() - graceMs);
  const from = account.reconciledUntil ? new Date(account.reconciledUntil.getTime() - OVERLAP_MS) : new Date(end.getTime() - RECONCILE_EVERY_MS);
  return { from, to: new Date(Math.min(end.getTime(), from.getTime() + MAX_WINDOW_MS)) };
}

/** Reconciliation is due when the feed has moved an interval past where we stopped. */
export const reconcileDue = (reconciledUntil: Date | null, now: Date) => !reconciledUntil || now.getTime() - GRACE_MS - reconciledUntil.getTime() >= RECONCILE_EVERY_MS;

export async function reconcileAccount(accountId: string, options: { now?: Date; graceMs?: number } = {}): Promise<ReconcileResult | null> {
  const account = await db().account.findUnique({ where: { id: accountId } });
  if (!account || account.status !== "installed" || account.paused) return null;
  const { from, to } = reconcileWindow(account, options.now ?? new Date(), options.graceMs);
  const settings = await loadSettings(account);
  const target = await kommoTarget(account.id);
  const result: ReconcileResult = { from, to, events: 0, recorded: 0, leads: 0, calls: 0, contactsDeleted: 0 };

  if (to > from) {
    const types: KommoEventType[] = ["lead_added", "lead_status_changed", "lead_deleted", ...(settings.deleteProfileOnContactDelete ? (["contact_deleted"] as const) : [])];
    const events = await readKommoEvents(target, { types, from, to });
    result.events = events.length;
    const leadIds = [...new Set(events.filter((event) => event.entity_type === "lead").map((event) => event.entity_id))];
    const rows = missedChanges(events, await leadFacts(account.id, leadIds));
    await inTransaction(async (client, asBossDb) => {
      if (rows.length > 0) {
        const inserted = await insertInboundEvents(client, account.id, "reconciliation", rows);
        result.recorded = inserted.length;
        const newLeads = [...new Set(inserted.map((row) => row.leadId).filter((id): id is number => id !== null))];
        result.leads = newLeads.length;
        await enqueueLeadSyncs(account.id, newLeads, asBossDb);
      }
      // Raw SQL: it commits with the recorded changes and their jobs, on the transaction's connection.
      await client.query(`UPDATE "Account" SET "reconciledUntil" = $2::timestamptz WHERE "id" = $1::uuid AND ("reconciledUntil" IS NULL OR "reconciledUntil" < $2::timestamptz)`, [
        account.id,
        to.toISOString(),
      ]);
    });
  }
  if (settings.deleteProfileOnContactDelete) result.contactsDeleted = await deletePendingContacts(account);
  result.calls = target.calls();
  return result;
}

async function runReconcileJob({ accountId }: { accountId: string }, context: JobContext): Promise<void> {
  const result = await reconcileAccount(accountId);
  if (result && result.recorded > 0) context.log.info({ accountId, ...result }, "reconciliation found changes whose webhook never arrived");
}
