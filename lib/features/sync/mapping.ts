// Kommo deal -> Klaviyo operations (SPEC §3), as a pure function: the same input always gives the
// same operations, unique_ids included, so a retried sync sends exactly what the first try sent.
import type { SkipReason } from "@/lib/outcomes";
import { createHash } from "node:crypto";
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max";
import type { EventInput, JsonValue, ProfileAttributes } from "@/lib/integrations/klaviyo/types";
import { KOMMO_LIMITS, truncate } from "@/lib/integrations/kommo/limits";
import type { SyncSettings } from "@/lib/features/settings/settings";

/** Kommo's fixed ids of the two closing stages, the same in every pipeline. */
export const WON_STATUS_ID = 142;
export const LOST_STATUS_ID = 143;

export type KommoAccountInfo = {
  kommoAccountId: number;
  /** API host of the account, e.g. acme.kommo.com (legacy acme.amocrm.com). */
  host: string;
  /** ISO 4217, e.g. "USD"; events carry it as value_currency. */
  currency: string | null;
  /** ISO 3166 alpha-2, e.g. "US"; the default region for phone numbers without a country code. */
  country: string | null;
};

export type DealSnapshot = {
  lead: {
    id: number;
    name: string | null;
    price: number | null;
    pipelineId: number;
    statusId: number;
    responsibleUserName: string | null;
    lossReason: string | null;
  };
  /** Name of the lead's current stage and pipeline. */
  stageName: string | null;
  pipelineName: string | null;
  /** Names of other stages by status id (from the cached pipelines), for changes that passed through them. */
  stageNames?: Record<number, string>;
  /** The deal's main contact (is_main), or null when it has none. */
  mainContact: {
    id: number;
    firstName: string | null;
    lastName: string | null;
    /** EMAIL field values, in Kommo's order. */
    emails: string[];
    /** PHONE field values, in Kommo's order. */
    phones: string[];
  } | null;
  companyName: string | null;
};

export type DealChangeKind = "created" | "stage_changed" | "updated" | "deleted";

export type DealChange = {
  kind: DealChangeKind;
  /**
   * Kommo's time of this change (epoch seconds), from the delivered change itself, not from a later
   * read of the lead: then a retry computes the same unique_id.
   */
  changedAt: number;
  /** Where a status change moved the deal (status_lead); defaults to the lead's current stage. */
  pipelineId?: number;
  statusId?: number;
  stageName?: string | null;
  /** Where it was before (Kommo's old_status_id); defaults to what we last sent. */
  previousPipelineId?: number | null;
  previousStatusId?: number | null;
  previousStageName?: string | null;
};

/** What we last sent to Klaviyo for this deal. */
export type PreviousDealState = {
  pipelineId: number | null;
  statusId: number | null;
  stageName: string | null;
  email: string | null;
  profileId: string | null;
  /** Lists the profile was put in for this deal; leave undefined when not tracked (then adds are always sent). */
  listIds?: string[];
  /** `nextState.profileFingerprint` of the last sync; an unchanged profile is not sent again. */
  profileFingerprint?: string | null;
};

export type MappingInput = {
  account: KommoAccountInfo;
  /** The lead as read from Kommo now; null when it could not be read (deleted). */
  deal: DealSnapshot | null;
  /** The changes to apply, oldest first: one sync may cover a burst of webhooks for the lead. */
  changes: DealChange[];
  previous: PreviousDealState | null;
  settings: SyncSettings;
  /** Lists the contact must stay in because of its other deals; never removed by this deal's moves. */
  keepListIds?: string[];
  options?: {
    /** Historical import: events are recorded without triggering flows. */
    backfill?: boolean;
    /** Send the profile even when it is unchanged ("Sync now"). */
    force?: boolean;
  };
};

/** A list operation names its profile: null = the one the upsert in the same plan returns. */
export type SyncOperation =
  | { type: "upsertProfile"; attributes: ProfileAttributes }
  | { type: "addToList"; listId: string; profileId: string | null }
  | { type: "removeFromList"; listId: string; profileId: string | null }
  | { type: "createEvent"; event: EventInput };

export type NextDealState = {
  pipelineId: number | null;
  statusId: number | null;
  stageName: string | null;
  email: string | null;
  listIds: string[];
  profileFingerprint: string | null;
};

export type MappingResult =
  /** Nothing to send, and why; `detail` adds what the reason alone does not say (the bad address). */
  | { skip: SkipReason; detail?: string; warnings: string[] }
  | { operations: SyncOperation[]; warnings: string[]; nextState: NextDealState };

type Stage = { pipelineId: number | null; statusId: number | null; name: string | null };

// Only ever applied to at most KOMMO_LIMITS.email characters: on a long input without a dot after
// the @ its backtracking is quadratic (a crafted 100 kB value took seconds).
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A name or label for Klaviyo: trimmed, cut to Kommo's name limit, null when empty. */
const text = (value: string | null | undefined): string | null => {
  const trimmed = value === null || value === undefined ? undefined : truncate(value, KOMMO_LIMITS.text).trim();
  return trimmed ? truncate(trimmed, KOMMO_LIMITS.name) : null;
};

/** An e-mail address no longer than any address can be, and shaped like one. */
const isEmailAddress = (email: string) => email.length <= KOMMO_LIMITS.email && EMAIL_PATTERN.test(email);

/** A value for the sync log's detail: quoted, and cut so that it cannot flood the log. */
const quoted = (value: string) => `"${truncate(value, KOMMO_LIMITS.email)}${value.length > KOMMO_LIMITS.email ? "…" : ""}"`;

/** crm_stage and event stage names: the closing stages have fixed names whatever the pipeline calls them. */
function stageLabel(statusId: number | null, name: string | null): string | null {
  if (statusId === WON_STATUS_ID) return "Won";
  if (statusId === LOST_STATUS_ID) return "Lost";
  return text(name);
}

function normalisePhone(raw: string, country: string | null): { phone: string } | { warning: string } {
  if (raw.length > KOMMO_LIMITS.phone) {
    return { warning: `phone of ${raw.length} characters is longer than any number (${KOMMO_LIMITS.phone}); profile synced without a phone` };
  }
  const region = truncate(country ?? "", KOMMO_LIMITS.code).trim().toUpperCase() || undefined;
  const defaultCountry = region && isSupportedCountry(region) ? (region as CountryCode) : undefined;
  const parsed = parsePhoneNumberFromString(raw, defaultCountry);
  if (parsed?.isValid()) return { phone: parsed.number };
  const where = defaultCountry ? ` for country ${defaultCountry}` : "";
  return { warning: `phone "${raw}" is not a valid number${where}; profile synced without a phone` };
}

function listFor(settings: SyncSettings, pipelineId: number | null, statusId: number | null): string | null {
  if (pipelineId === null || statusId === null) return null;
  return settings.stageLists.find((entry) => entry.pipelineId === pipelineId && entry.statusId === statusId)?.listId ?? null;
}

const digest = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);

/**
 * What was sent as the profile, in two halves: its identifiers (email, phone) and the rest. A sync
 * that changes only the rest can let its event carry the profile (see foldProfileIntoEvents).
 */
function fingerprint(attributes: ProfileAttributes): string {
  const { email, phone_number, ...rest } = attributes;
  return digest({ email, phone_number }) + digest(rest);
}

const identityHalf = (profileFingerprint: string | null | undefined) => (profileFingerprint?.length === 32 ? profileFingerprint.slice(0, 16) : null);

/**
 * A profile we already know, whose identifiers did not change, needs no call of its own when the
 * sync sends events: Klaviyo's Create Event updates the profile's attributes it is given. The
 * attributes go on every event of the plan (any one of them may be a repeat Klaviyo ignores); the
 * phone stays off, since it is unchanged and may be one Klaviyo refused for this profile.
 */
function foldProfileIntoEvents(operations: SyncOperation[], profileId: string): SyncOperation[] | null {
  const upsert = operations.find((operation) => operation.type === "upsertProfile");
  if (!upsert || !operations.some((operation) => operation.type === "createEvent")) return null;
  const { phone_number: _unchangedPhone, email: _sameEmail, ...attributes } = upsert.attributes;
  return operations
    .filter((operation) => operation !== upsert)
    .map((operation) => {
      if (operation.type === "createEvent") return { ...operation, event: { ...operation.event, profile: { ...attributes, ...operation.event.profile } } };
      if (operation.type === "addToList" || operation.type === "removeFromList") return { ...operation, profileId: operation.profileId ?? profileId };
      return operation;
    });
}

/**
 * unique_id of an event: one real change -> one id, however often it is sent. The kind, the
 * stage it left, the stage it entered and Kommo's change time tell apart two changes in the same
 * second (e.g. moved on, then moved back).
 */
export function eventUniqueId(
  account: KommoAccountInfo,
  leadId: number,
  kind: "created" | "stage_changed" | "won" | "lost",
  from: number | null,
  to: number | null,
  changedAt: number,
): string {
  return `kommo:${account.kommoAccountId}:lead:${leadId}:${kind}:${from ?? "none"}-${to ?? "none"}:${changedAt}`;
}

/**
 * What every event of a deal carries (SPEC §3): the profile's email, Kommo's change time, value and
 * currency, and the deal's properties with `deal_stage` = `stageName`. Shared with the Digital
 * Pipeline action, whose events carry the same properties.
 */
export function dealEventBase(
  account: KommoAccountInfo,
  deal: DealSnapshot,
  email: string,
  stageName: string | null,
  changedAt: number,
  warnings: string[],
): Pick<EventInput, "profile" | "time" | "value" | "value_currency"> & { properties: Record<string, JsonValue> } {
  const { lead } = deal;
  const amount = typeof lead.price === "number" && Number.isFinite(lead.price) ? lead.price : null;
  const currency = account.currency == null ? null : truncate(account.currency, KOMMO_LIMITS.code).trim().toUpperCase();
  const validCurrency = currency && /^[A-Z]{3}$/.test(currency) ? currency : null;
  const warning = `account currency "${truncate(account.currency ?? "", KOMMO_LIMITS.code)}" is not an ISO 4217 code; events sent without value_currency`;
  if (currency && !validCurrency && !warnings.includes(warning)) warnings.push(warning);
  return {
    profile: { email },
    time: new Date(changedAt * 1000).toISOString(),
    ...(amount !== null && { value: amount }),
    ...(amount !== null && validCurrency && { value_currency: validCurrency }),
    properties: {
      deal_name: text(lead.name),
      deal_stage: stageName,
      deal_amount: amount,
      kommo_deal_id: lead.id,
      pipeline: text(deal.pipelineName),
      responsible: text(lead.responsibleUserName),
    },
  };
}

/** A deal's stage as events and crm_stage name it (Won / Lost for the closing stages). */
export function dealStageLabel(deal: DealSnapshot): string | null {
  return stageLabel(deal.lead.statusId, deal.stageName);
}

export function mapDealToKlaviyo(input: MappingInput): MappingResult {
  const { account, deal, settings, previous } = input;
  const warnings: string[] = [];
  if (input.changes.length === 0) return { skip: "no_change", warnings };
  if (input.changes.some((change) => change.kind === "deleted")) return mapDeletion(input);
  if (!deal) return { skip: "deleted", warnings };

  const contact = deal.mainContact;
  if (!contact) return { skip: "no_contact", warnings };
  // Cut before trimming, so that not even a trim walks a huge value; a cut value stays over the limit.
  const email = contact.emails.map((value) => truncate(value, KOMMO_LIMITS.text).trim()).find(Boolean);
  if (!email) return { skip: "no_email", warnings };
  if (!isEmailAddress(email)) return { skip: "invalid_email", detail: quoted(email), warnings };

  const { lead } = deal;
  const current: Stage = { pipelineId: lead.pipelineId, statusId: lead.statusId, name: stageLabel(lead.statusId, deal.stageName) };
  const amount = typeof lead.price === "number" && Number.isFinite(lead.price) ? lead.price : null;
  const responsible = text(lead.responsibleUserName);
  const pipelineName = text(deal.pipelineName);
  const dealName = text(lead.name);

  // Profile. Cleared Kommo fields go as null so that Klaviyo clears them too; the phone is the
  // exception: it is an identifier (and may carry SMS consent), so a missing or invalid one is left
  // out rather than erasing what Klaviyo holds.
  const attributes: ProfileAttributes = {
    email,
    first_name: text(contact.firstName),
    last_name: text(contact.lastName),
    organization: text(deal.companyName),
  };
  const rawPhone = contact.phones.map((value) => truncate(value, KOMMO_LIMITS.text).trim()).find(Boolean);
  if (rawPhone) {
    const phone = normalisePhone(rawPhone, account.country);
    if ("phone" in phone) attributes.phone_number = phone.phone;
    else warnings.push(phone.warning);
  }
  attributes.properties = {
    crm_stage: current.name,
    deal_amount: amount,
    kommo_deal_id: lead.id,
    kommo_pipeline: pipelineName,
    kommo_deal_name: dealName,
    kommo_responsible: responsible,
    kommo_deal_url: `https://${account.host}/leads/detail/${lead.id}`,
  };

  const sameProfile = Boolean(previous?.profileId && previous.email?.toLowerCase() === email.toLowerCase());
  const profileFingerprint = fingerprint(attributes);
  const sendProfile = input.options?.force || !sameProfile || previous?.profileFingerprint !== profileFingerprint;
  const operations: SyncOperation[] = [];
  if (sendProfile) operations.push({ type: "upsertProfile", attributes });
  const ourProfile = sendProfile ? null : previous!.profileId;

  // Lists: add before remove, so that a failure in between leaves the contact in both, not neither.
  const targets = [...new Set([listFor(settings, current.pipelineId, current.statusId), settings.allDealsListId])].filter(
    (id): id is string => id !== null,
  );
  const tracked = sameProfile && previous?.listIds !== undefined;
  const held = new Set(sameProfile ? (previous?.listIds ?? []) : []);
  for (const listId of targets) {
    if (!tracked || !held.has(listId)) operations.push({ type: "addToList", listId, profileId: ourProfile });
    held.add(listId);
  }
  const removal = previousStageRemoval(input, targets, previous?.email?.toLowerCase() === email.toLowerCase());
  if (removal) {
    operations.push(removal);
    held.delete(removal.listId);
  }

  // Events, in the order the changes happened.
  const eventBase = (target: Stage, changedAt: number) => ({
    ...dealEventBase(account, deal, email, target.name, changedAt, warnings),
    ...(input.options?.backfill && { backfill: true }),
  });
  const names = settings.events;
  let stage: Stage = previous
    ? { pipelineId: previous.pipelineId, statusId: previous.statusId, name: stageLabel(previous.statusId, previous.stageName) }
    : { pipelineId: null, statusId: null, name: null };
  // A stage's name: as the change gave it, else from the pipelines, else as we know it from where the deal is or was.
  const nameOf = (statusId: number, given: string | null | undefined): string | null =>
    stageLabel(
      statusId,
      given ??
        deal.stageNames?.[statusId] ??
        (statusId === current.statusId ? current.name : statusId === stage.statusId ? stage.name : statusId === previous?.statusId ? previous.stageName : null),
    );
  for (const change of input.changes) {
    // A creation has no stage before it, whatever we may have synced already (a late delivery).
    const from: Stage =
      change.kind === "created"
        ? { pipelineId: null, statusId: null, name: null }
        : change.previousStatusId != null
        ? {
            pipelineId: change.previousPipelineId ?? stage.pipelineId,
            statusId: change.previousStatusId,
            name: nameOf(change.previousStatusId, change.previousStageName),
          }
        : stage;
    const to: Stage =
      change.statusId !== undefined
        ? {
            pipelineId: change.pipelineId ?? current.pipelineId,
            statusId: change.statusId,
            name: nameOf(change.statusId, change.stageName),
          }
        : current;
    const base = eventBase(to, change.changedAt);

    if (change.kind === "created" && names.dealCreated) {
      operations.push({
        type: "createEvent",
        event: { ...base, metric: names.dealCreated, unique_id: eventUniqueId(account, lead.id, "created", from.statusId, to.statusId, change.changedAt) },
      });
    }
    const moved = from.statusId !== null && (from.statusId !== to.statusId || from.pipelineId !== to.pipelineId);
    if (change.kind !== "created" && moved && names.stageChanged) {
      operations.push({
        type: "createEvent",
        event: {
          ...base,
          metric: names.stageChanged,
          properties: { ...base.properties, previous_stage: from.name },
          unique_id: eventUniqueId(account, lead.id, "stage_changed", from.statusId, to.statusId, change.changedAt),
        },
      });
    }
    // Won/Lost on entering the closing stage, including a deal created straight into it.
    const entering = change.kind === "created" ? to.statusId : moved && from.statusId !== to.statusId ? to.statusId : null;
    if (entering === WON_STATUS_ID && names.dealWon) {
      operations.push({
        type: "createEvent",
        event: { ...base, metric: names.dealWon, unique_id: eventUniqueId(account, lead.id, "won", from.statusId, WON_STATUS_ID, change.changedAt) },
      });
    }
    if (entering === LOST_STATUS_ID && names.dealLost) {
      operations.push({
        type: "createEvent",
        event: {
          ...base,
          metric: names.dealLost,
          properties: { ...base.properties, loss_reason: text(lead.lossReason) },
          unique_id: eventUniqueId(account, lead.id, "lost", from.statusId, LOST_STATUS_ID, change.changedAt),
        },
      });
    }
    stage = to;
  }

  const identityUnchanged = identityHalf(previous?.profileFingerprint) === identityHalf(profileFingerprint);
  const folded =
    sendProfile && sameProfile && identityUnchanged && !input.options?.force && !input.options?.backfill
      ? foldProfileIntoEvents(operations, previous!.profileId!)
      : null;

  return {
    operations: folded ?? operations,
    warnings,
    nextState: {
      pipelineId: current.pipelineId,
      statusId: current.statusId,
      stageName: current.name,
      email,
      listIds: [...held],
      profileFingerprint,
    },
  };
}

/** The previous stage's list to leave, when the settings ask for it and nothing else keeps the contact there. */
function previousStageRemoval(
  input: MappingInput,
  targets: string[],
  sameEmail: boolean,
): Extract<SyncOperation, { type: "removeFromList" }> | null {
  const { previous, settings } = input;
  if (!settings.removeFromPreviousList || !previous) return null;
  const listId = listFor(settings, previous.pipelineId, previous.statusId);
  if (!listId || targets.includes(listId) || input.keepListIds?.includes(listId)) return null;
  if (previous.listIds !== undefined && !previous.listIds.includes(listId)) return null;
  // The list holds the profile we last synced; when the email changed we need its id to remove it.
  if (previous.profileId) return { type: "removeFromList", listId, profileId: previous.profileId };
  return sameEmail ? { type: "removeFromList", listId, profileId: null } : null;
}

/**
 * A deleted deal sends no profile and no events. It leaves its stage's list (when lists mirror
 * stages) and the all-deals list, unless the contact's other live deals keep it there
 * (`keepListIds`): the all-deals list holds the contacts that have a deal.
 */
function mapDeletion(input: MappingInput): MappingResult {
  const { previous, settings } = input;
  if (!previous?.profileId) return { skip: "deleted_unsynced", warnings: [] };
  const removals: Extract<SyncOperation, { type: "removeFromList" }>[] = [];
  const stageRemoval = previousStageRemoval(input, [], true);
  if (stageRemoval) removals.push(stageRemoval);
  const allDeals = settings.allDealsListId;
  const heldAllDeals = allDeals !== null && (previous.listIds === undefined || previous.listIds.includes(allDeals));
  if (allDeals && heldAllDeals && !input.keepListIds?.includes(allDeals) && stageRemoval?.listId !== allDeals) {
    removals.push({ type: "removeFromList", listId: allDeals, profileId: previous.profileId });
  }
  if (removals.length === 0) return { skip: "deleted_unsynced", warnings: [] };
  const removed = new Set(removals.map((removal) => removal.listId));
  return {
    operations: removals,
    warnings: [],
    nextState: {
      pipelineId: previous.pipelineId,
      statusId: previous.statusId,
      stageName: previous.stageName,
      email: previous.email,
      listIds: (previous.listIds ?? []).filter((id) => !removed.has(id)),
      profileFingerprint: previous.profileFingerprint ?? null,
    },
  };
}
