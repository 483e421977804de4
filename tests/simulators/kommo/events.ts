// Kommo's events log (`GET /api/v4/events`): every lead added, moved, deleted and every contact
// deleted in the simulated account leaves an event, as in Kommo's "events" feed that integrations
// use to find changes whose webhook never arrived. Shape per event: `{id, type, entity_id,
// entity_type, created_by, created_at, value_after, value_before, account_id}`; filters
// `filter[type]`, `filter[entity]`, `filter[entity_id]`, `filter[created_at][from|to]`; `page` and
// `limit` (at most 100); newest first; 204 when nothing matches.
import { randomBytes } from "node:crypto";
import qs from "qs";
import type { ApiContext } from "./api";
import { hal, noContent, problem, validationProblem, type SimResponse } from "./respond";
import type { SimAccount, SimLead, SimStore } from "./store";

export const MAX_EVENTS_LIMIT = 100;
const DEFAULT_EVENTS_LIMIT = 50;

export type SimEventType = "lead_added" | "lead_status_changed" | "lead_deleted" | "contact_deleted";

export type SimKommoEvent = {
  /** Kommo's event ids are strings, not numbers. */
  id: string;
  type: SimEventType;
  entity_id: number;
  entity_type: "lead" | "contact";
  created_by: number;
  created_at: number;
  value_after: unknown[];
  value_before: unknown[];
  /** Order of recording, to keep "newest first" stable within one second. */
  seq: number;
};

const logs = new WeakMap<SimAccount, SimKommoEvent[]>();
let sequence = 0;

/** The account's events, oldest first (tests may look, or drop some). */
export function eventsOf(account: SimAccount): SimKommoEvent[] {
  let log = logs.get(account);
  if (!log) {
    log = [];
    logs.set(account, log);
  }
  return log;
}

const BASE32 = "0123456789abcdefghijklmnopqrstuv";
const eventId = () => Array.from(randomBytes(25), (byte) => BASE32[byte % 32]).join("");

const leadStatus = (lead: Pick<SimLead, "status_id" | "pipeline_id">) => [{ lead_status: { id: lead.status_id, pipeline_id: lead.pipeline_id } }];

function record(account: SimAccount, event: Omit<SimKommoEvent, "id" | "seq" | "created_by">): SimKommoEvent {
  const full: SimKommoEvent = { ...event, id: eventId(), created_by: account.users[0]!.id, seq: ++sequence };
  eventsOf(account).push(full);
  return full;
}

export function recordLeadAdded(account: SimAccount, lead: SimLead): void {
  record(account, { type: "lead_added", entity_id: lead.id, entity_type: "lead", created_at: lead.created_at, value_after: leadStatus(lead), value_before: [] });
}

/** A move between stages (or pipelines); nothing is logged when the stage stayed the same. */
export function recordStatusChange(account: SimAccount, lead: SimLead, before: Pick<SimLead, "status_id" | "pipeline_id">): void {
  if (before.status_id === lead.status_id && before.pipeline_id === lead.pipeline_id) return;
  record(account, {
    type: "lead_status_changed",
    entity_id: lead.id,
    entity_type: "lead",
    created_at: lead.updated_at,
    value_after: leadStatus(lead),
    value_before: leadStatus(before),
  });
}

/** Delete a lead as a user would: it disappears from the API (204) and the log says so. */
export function deleteLead(store: SimStore, accountId: number, leadId: number): SimLead {
  const account = store.account(accountId);
  const lead = account.leads.get(leadId);
  if (!lead) throw new Error(`simulator: no lead ${leadId}`);
  lead.is_deleted = true;
  lead.updated_at = Math.max(lead.updated_at + 1, store.nowSeconds());
  record(account, { type: "lead_deleted", entity_id: lead.id, entity_type: "lead", created_at: lead.updated_at, value_after: [], value_before: [] });
  return lead;
}

/** Delete a contact: it is gone from the API and from the leads it was linked to. */
export function deleteContact(store: SimStore, accountId: number, contactId: number): void {
  const account = store.account(accountId);
  if (!account.contacts.delete(contactId)) throw new Error(`simulator: no contact ${contactId}`);
  for (const lead of account.leads.values()) lead.contacts = lead.contacts.filter((contact) => contact.id !== contactId);
  // Not before the account's last change: lead changes within one second are spread over the next seconds.
  const at = Math.max(store.nowSeconds(), ...eventsOf(account).map((event) => event.created_at));
  record(account, { type: "contact_deleted", entity_id: contactId, entity_type: "contact", created_at: at, value_after: [], value_before: [] });
}

/** A filter value that may be one value, a comma list, a `[]` list or an index-keyed object. */
function listOf(value: unknown): string[] | null {
  if (value === undefined) return null;
  if (typeof value === "string") return value.split(",").map((item) => item.trim()).filter(Boolean);
  const items = Array.isArray(value) ? value : value && typeof value === "object" ? Object.values(value) : [];
  return items.map(String);
}

const unixSeconds = (value: unknown): number | null | "invalid" => {
  if (value === undefined) return null;
  return typeof value === "string" && /^\d+$/.test(value) ? Number(value) : "invalid";
};

function render(ctx: ApiContext, event: SimKommoEvent) {
  const entityPath = event.entity_type === "lead" ? "leads" : "contacts";
  return {
    id: event.id,
    type: event.type,
    entity_id: event.entity_id,
    entity_type: event.entity_type,
    created_by: event.created_by,
    created_at: event.created_at,
    value_after: event.value_after,
    value_before: event.value_before,
    account_id: ctx.account.id,
    _links: { self: { href: `${ctx.baseUrl}/api/v4/events/${event.id}` } },
    _embedded: { entity: { id: event.entity_id, _links: { self: { href: `${ctx.baseUrl}/api/v4/${entityPath}/${event.entity_id}` } } } },
  };
}

export function listEvents(ctx: ApiContext): SimResponse {
  const filter = (ctx.query.filter ?? {}) as Record<string, unknown>;
  const types = listOf(filter.type);
  const entities = listOf(filter.entity);
  const entityIds = listOf(filter.entity_id);
  if (entityIds?.some((id) => !/^\d+$/.test(id))) return validationProblem([{ code: "InvalidType", path: "filter.entity_id", detail: "ids must be integers" }]);
  const created = (filter.created_at ?? {}) as Record<string, unknown>;
  const from = unixSeconds(created.from);
  const to = unixSeconds(created.to);
  if (from === "invalid" || to === "invalid") return validationProblem([{ code: "InvalidType", path: "filter.created_at", detail: "must be a unix timestamp" }]);

  const pageText = ctx.query.page ?? "1";
  const limitText = ctx.query.limit ?? String(DEFAULT_EVENTS_LIMIT);
  if (typeof pageText !== "string" || !/^[1-9]\d*$/.test(pageText)) return validationProblem([{ code: "InvalidType", path: "page", detail: "page must be a positive integer" }]);
  if (typeof limitText !== "string" || !/^[1-9]\d*$/.test(limitText)) return validationProblem([{ code: "InvalidType", path: "limit", detail: "limit must be a positive integer" }]);
  const page = Number(pageText);
  const limit = Number(limitText);
  if (limit > MAX_EVENTS_LIMIT) return problem(422, `Limit ${MAX_EVENTS_LIMIT} per page`);

  const matching = eventsOf(ctx.account)
    .filter(
      (event) =>
        (!types || types.includes(event.type)) &&
        (!entities || entities.includes(event.entity_type)) &&
        (!entityIds || entityIds.includes(String(event.entity_id))) &&
        (from === null || event.created_at >= from) &&
        (to === null || event.created_at <= to),
    )
    .sort((a, b) => b.created_at - a.created_at || b.seq - a.seq);
  const start = (page - 1) * limit;
  const slice = matching.slice(start, start + limit);
  if (slice.length === 0) return noContent();
  const href = (target: number) => `${ctx.baseUrl}${ctx.path}?${qs.stringify({ ...ctx.query, page: target, limit }, { arrayFormat: "brackets", encodeValuesOnly: true })}`;
  return hal(200, {
    _page: page,
    _links: { self: { href: href(page) }, ...(start + limit < matching.length ? { next: { href: href(page + 1) } } : {}) },
    _embedded: { events: slice.map((event) => render(ctx, event)) },
  });
}
