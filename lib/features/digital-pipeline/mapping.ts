// A Digital Pipeline action -> Klaviyo operations, as a pure function: the profile exactly as a
// sync sends it (never a subscription), the optional list, and the admin's event with the deal's
// event properties plus `dp_stage`. The unique_id comes from the hook, so a redelivered or retried
// action is one event in Klaviyo.
import { createHash } from "node:crypto";
import type { SkipReason } from "@/lib/outcomes";
import { mapDealToKlaviyo, dealEventBase, dealStageLabel, type DealSnapshot, type KommoAccountInfo, type SyncOperation } from "@/lib/features/sync/mapping";
import { DEFAULT_SETTINGS } from "@/lib/features/settings/settings";

export type DigitalPipelineActionInput = {
  leadId: number;
  statusId: number | null;
  /** Kommo's `event.time`, epoch seconds. */
  time: number;
  eventName: string;
  listId: string | null;
  /** Name of the stage the action sits on (Won / Lost for the closing stages). */
  stageName: string | null;
};

export type DigitalPipelinePlan =
  | { skip: SkipReason; detail?: string; warnings: string[] }
  | { operations: SyncOperation[]; warnings: string[]; email: string };

/** Deterministic from (account, lead, status, event.time, event name). */
export function digitalPipelineUniqueId(kommoAccountId: number, action: Pick<DigitalPipelineActionInput, "leadId" | "statusId" | "time" | "eventName">): string {
  const name = createHash("sha256").update(action.eventName).digest("hex").slice(0, 16);
  return `kommo:${kommoAccountId}:lead:${action.leadId}:dp:${action.statusId ?? "none"}:${action.time}:${name}`;
}

/** Settings that make the sync mapping send the profile alone: no lists, no automatic events. */
const PROFILE_ONLY = {
  ...DEFAULT_SETTINGS,
  stageLists: [],
  allDealsListId: null,
  removeFromPreviousList: false,
  events: { dealCreated: null, stageChanged: null, dealWon: null, dealLost: null },
};

export function mapDigitalPipelineAction(account: KommoAccountInfo, deal: DealSnapshot | null, action: DigitalPipelineActionInput): DigitalPipelinePlan {
  const profile = mapDealToKlaviyo({
    account,
    deal,
    changes: [{ kind: "updated", changedAt: action.time }],
    previous: null,
    settings: PROFILE_ONLY,
    options: { force: true },
  });
  if ("skip" in profile) return profile;
  if (!deal) return { skip: "deleted", warnings: profile.warnings };
  const email = profile.nextState.email!;
  const warnings = [...profile.warnings];
  const base = dealEventBase(account, deal, email, dealStageLabel(deal), action.time, warnings);
  const operations: SyncOperation[] = [...profile.operations];
  if (action.listId) operations.push({ type: "addToList", listId: action.listId, profileId: null });
  operations.push({
    type: "createEvent",
    event: {
      ...base,
      metric: action.eventName,
      properties: { ...base.properties, dp_stage: action.stageName },
      unique_id: digitalPipelineUniqueId(account.kommoAccountId, action),
    },
  });
  return { operations, warnings, email };
}
