// One existing Kommo deal -> what the historical import sends for it, as a pure function. The live
// mapping (lib/features/sync/mapping.ts) decides the profile, the lists and the events, exactly as for a new
// deal, with `backfill: true` so that no Klaviyo flow fires for a deal that happened long ago. The
// one thing history adds: a deal that is already won or lost got there at Kommo's `closed_at`,
// not at its creation, so its Deal Won / Deal Lost event carries that time.
import type { SkipReason } from "@/lib/outcomes";
import type { KommoCompany, KommoContact, KommoLead, KommoPipeline } from "@/lib/integrations/kommo/api-schemas";
import { mainContactId } from "@/lib/integrations/kommo/fields";
import type { EventInput, ProfileAttributes } from "@/lib/integrations/klaviyo/types";
import { contactSnapshotOf } from "@/lib/features/sync/contact-cache";
import { dealSnapshotOf } from "@/lib/features/sync/deal-reader";
import { eventUniqueId, LOST_STATUS_ID, mapDealToKlaviyo, WON_STATUS_ID, type DealSnapshot, type KommoAccountInfo, type NextDealState } from "@/lib/features/sync/mapping";
import type { SyncSettings } from "@/lib/features/settings/settings";

export type Directory = { pipelines: KommoPipeline[]; users: Map<number, string> };

export type DealParties = { lead: KommoLead; contact: KommoContact | null; company: KommoCompany | null };

export type DealPlan = {
  leadId: number;
  contactId: number;
  email: string;
  /** Kommo's last change of the lead: of two deals of one contact, the later one describes the profile. */
  updatedAt: number;
  closedAt: Date | null;
  profile: ProfileAttributes;
  listIds: string[];
  events: EventInput[];
  nextState: NextDealState;
  warnings: string[];
};

export type PlanOutcome = { plan: DealPlan } | { skip: SkipReason };

export function dealSnapshot({ lead, contact, company }: DealParties, directory: Directory): DealSnapshot {
  return dealSnapshotOf(lead, contact ? contactSnapshotOf(contact) : null, company?.name ?? null, directory);
}

export function planHistoricalDeal(parties: DealParties, directory: Directory, account: KommoAccountInfo, settings: SyncSettings): PlanOutcome {
  const { lead } = parties;
  if (parties.contact === null && mainContactId(lead) !== null) return { skip: "contact_unreadable" };
  const result = mapDealToKlaviyo({
    account,
    deal: dealSnapshot(parties, directory),
    changes: [{ kind: "created", changedAt: lead.created_at }],
    previous: null,
    settings,
    options: { backfill: true },
  });
  if ("skip" in result) return { skip: result.skip };

  const closedAt = lead.closed_at ? new Date(lead.closed_at * 1000) : null;
  let profile: ProfileAttributes | null = null;
  const listIds: string[] = [];
  const events: EventInput[] = [];
  for (const operation of result.operations) {
    if (operation.type === "upsertProfile") profile = operation.attributes;
    else if (operation.type === "addToList") listIds.push(operation.listId);
    else if (operation.type === "createEvent") events.push(closedAt ? atClosing(operation.event, lead, closedAt, account) : operation.event);
  }
  if (!profile || !result.nextState.email) return { skip: "nothing_to_send" };
  return {
    plan: {
      leadId: lead.id,
      contactId: parties.contact!.id,
      email: result.nextState.email,
      updatedAt: lead.updated_at,
      closedAt,
      profile,
      listIds,
      events,
      nextState: result.nextState,
      warnings: result.warnings,
    },
  };
}

/** Deal Won / Deal Lost of a closed deal: at the closing time, with the unique_id of that moment. */
function atClosing(event: EventInput, lead: KommoLead, closedAt: Date, account: KommoAccountInfo): EventInput {
  // The mapping names the closing event of a deal created in a closing stage by this unique_id.
  const closing = (kind: "won" | "lost", statusId: number) => event.unique_id === eventUniqueId(account, lead.id, kind, null, statusId, lead.created_at);
  const kind = closing("won", WON_STATUS_ID) ? "won" : closing("lost", LOST_STATUS_ID) ? "lost" : null;
  if (!kind) return event;
  const changedAt = Math.floor(closedAt.getTime() / 1000);
  return { ...event, time: closedAt.toISOString(), unique_id: eventUniqueId(account, lead.id, kind, null, lead.status_id, changedAt) };
}
