// The REST v4 endpoints of the simulated Kommo, answering with Kommo's shapes: hal+json with
// `_embedded`, `_links` and `_page`; 204 for an empty result; `limit` up to 250 (422 above).
import qs from "qs";
import { listEvents } from "./events";
import { CUSTOM_FIELD_ROUTES, contactTags } from "./custom-fields";
import { hal, noContent, problem, validationProblem, type SimResponse, type ValidationError } from "./respond";
import { ALL_RIGHTS, type SimAccount, type SimCompany, type SimContact, type SimLead, type SimPipeline, type SimStatus, type SimStore, type SimUser } from "./store";

export type ApiContext = {
  method: string;
  path: string;
  query: Record<string, unknown>;
  contentType: string;
  body: string;
  account: SimAccount;
  /** The user the access token was issued to (unset: the account's first admin). */
  userId?: number;
  baseUrl: string;
  store: SimStore;
};

export const MAX_LIMIT = 250;
const DEFAULT_LIMIT = 50;

const NOTE_TYPES = new Set([
  "common",
  "call_in",
  "call_out",
  "service_message",
  "extended_service_message",
  "message_cashier",
  "geolocation",
  "sms_in",
  "sms_out",
  "attachment",
]);

const entityEvents = (entity: string, actions: string[]) => actions.map((action) => `${action}_${entity}`);
export const WEBHOOK_EVENTS = new Set([
  ...entityEvents("lead", ["add", "update", "delete", "restore", "status", "responsible", "note"]),
  ...entityEvents("contact", ["add", "update", "delete", "restore", "responsible", "note"]),
  ...entityEvents("company", ["add", "update", "delete", "restore", "responsible", "note"]),
  ...entityEvents("customer", ["add", "update", "delete", "status", "responsible", "note"]),
  ...entityEvents("task", ["add", "update", "delete", "responsible"]),
]);

const link = (ctx: ApiContext, path: string) => ({ self: { href: `${ctx.baseUrl}${path}` } });

/** A query value that may be one id, a list (`[]=`), or an index-keyed object (qs above its array limit). */
function idList(value: unknown): number[] | null | "invalid" {
  if (value === undefined) return null;
  const raw = typeof value === "string" ? value.split(",") : Array.isArray(value) ? value : value && typeof value === "object" ? Object.values(value) : [];
  const ids = raw.map((entry) => (typeof entry === "string" && /^\d+$/.test(entry) ? Number(entry) : NaN));
  return ids.some(Number.isNaN) ? "invalid" : ids;
}

const withList = (ctx: ApiContext) => (typeof ctx.query.with === "string" ? ctx.query.with.split(",").map((value) => value.trim()) : []);

function renderLead(ctx: ApiContext, lead: SimLead) {
  const withs = withList(ctx);
  const lossReason = lead.loss_reason_id === null ? undefined : ctx.account.lossReasons.get(lead.loss_reason_id);
  return {
    id: lead.id,
    name: lead.name,
    price: lead.price,
    responsible_user_id: lead.responsible_user_id,
    group_id: lead.group_id,
    status_id: lead.status_id,
    pipeline_id: lead.pipeline_id,
    loss_reason_id: lead.loss_reason_id,
    created_by: lead.created_by,
    updated_by: lead.updated_by,
    created_at: lead.created_at,
    updated_at: lead.updated_at,
    closed_at: lead.closed_at,
    closest_task_at: null,
    is_deleted: lead.is_deleted,
    custom_fields_values: lead.custom_fields_values,
    score: null,
    account_id: ctx.account.id,
    labor_cost: null,
    _links: link(ctx, `/api/v4/leads/${lead.id}`),
    _embedded: {
      tags: [],
      companies: lead.companyId ? [{ id: lead.companyId, _links: link(ctx, `/api/v4/companies/${lead.companyId}`) }] : [],
      ...(withs.includes("contacts")
        ? { contacts: lead.contacts.map((contact) => ({ id: contact.id, is_main: contact.is_main, _links: link(ctx, `/api/v4/contacts/${contact.id}`) })) }
        : {}),
      ...(withs.includes("loss_reason") && lossReason
        ? { loss_reason: [{ ...lossReason, _links: link(ctx, `/api/v4/leads/loss_reasons/${lossReason.id}`) }] }
        : {}),
    },
  };
}

function renderContact(ctx: ApiContext, contact: SimContact) {
  const leads = withList(ctx).includes("leads")
    ? [...ctx.account.leads.values()].filter((lead) => lead.contacts.some((entry) => entry.id === contact.id))
    : undefined;
  return {
    id: contact.id,
    name: contact.name,
    first_name: contact.first_name,
    last_name: contact.last_name,
    responsible_user_id: contact.responsible_user_id,
    group_id: 0,
    created_by: contact.responsible_user_id,
    updated_by: contact.responsible_user_id,
    created_at: contact.created_at,
    updated_at: contact.updated_at,
    closest_task_at: null,
    is_deleted: false,
    is_unsorted: false,
    custom_fields_values: contact.custom_fields_values,
    account_id: ctx.account.id,
    _links: link(ctx, `/api/v4/contacts/${contact.id}`),
    _embedded: {
      tags: [...contactTags(contact)].map((name, index) => ({ id: index + 1, name })),
      companies: contact.companyId ? [{ id: contact.companyId, _links: link(ctx, `/api/v4/companies/${contact.companyId}`) }] : [],
      ...(leads ? { leads: leads.map((lead) => ({ id: lead.id, _links: link(ctx, `/api/v4/leads/${lead.id}`) })) } : {}),
    },
  };
}

function renderCompany(ctx: ApiContext, company: SimCompany) {
  return {
    id: company.id,
    name: company.name,
    responsible_user_id: company.responsible_user_id,
    group_id: 0,
    created_by: company.responsible_user_id,
    updated_by: company.responsible_user_id,
    created_at: company.created_at,
    updated_at: company.updated_at,
    closest_task_at: null,
    is_deleted: false,
    custom_fields_values: company.custom_fields_values,
    account_id: ctx.account.id,
    _links: link(ctx, `/api/v4/companies/${company.id}`),
    _embedded: { tags: [] },
  };
}

const renderStatus = (ctx: ApiContext, status: SimStatus) => ({
  ...status,
  account_id: ctx.account.id,
  _links: link(ctx, `/api/v4/leads/pipelines/${status.pipeline_id}/statuses/${status.id}`),
});

const renderPipeline = (ctx: ApiContext, pipeline: SimPipeline) => ({
  id: pipeline.id,
  name: pipeline.name,
  sort: pipeline.sort,
  is_main: pipeline.is_main,
  is_unsorted_on: pipeline.is_unsorted_on,
  is_archive: pipeline.is_archive,
  account_id: ctx.account.id,
  _links: link(ctx, `/api/v4/leads/pipelines/${pipeline.id}`),
  _embedded: { statuses: pipeline.statuses.map((status) => renderStatus(ctx, status)) },
});

/** One page of `items`, with `_links.next` while more remain; 204 when the page is empty. */
function listPage<Item>(ctx: ApiContext, key: string, items: Item[], render: (item: Item) => unknown): SimResponse {
  const pageText = ctx.query.page ?? "1";
  const limitText = ctx.query.limit ?? String(DEFAULT_LIMIT);
  if (typeof pageText !== "string" || !/^[1-9]\d*$/.test(pageText)) return validationProblem([{ code: "InvalidType", path: "page", detail: "page must be a positive integer" }]);
  if (typeof limitText !== "string" || !/^[1-9]\d*$/.test(limitText)) return validationProblem([{ code: "InvalidType", path: "limit", detail: "limit must be a positive integer" }]);
  const page = Number(pageText);
  const limit = Number(limitText);
  if (limit > MAX_LIMIT) return problem(422, `Limit ${MAX_LIMIT} per page`);
  const start = (page - 1) * limit;
  const slice = items.slice(start, start + limit);
  if (slice.length === 0) return noContent();
  const href = (target: number) =>
    `${ctx.baseUrl}${ctx.path}?${qs.stringify({ ...ctx.query, page: target, limit }, { arrayFormat: "brackets", encodeValuesOnly: true })}`;
  return hal(200, {
    _page: page,
    _links: {
      self: { href: href(page) },
      ...(start + limit < items.length ? { next: { href: href(page + 1) } } : {}),
      ...(page > 1 ? { prev: { href: href(page - 1) } } : {}),
    },
    _embedded: { [key]: slice.map(render) },
  });
}

function filterById<Item extends { id: number }>(ctx: ApiContext, items: Item[]): Item[] | SimResponse {
  const filter = (ctx.query.filter ?? {}) as Record<string, unknown>;
  const ids = idList(filter.id);
  if (ids === "invalid") return validationProblem([{ code: "InvalidType", path: "filter.id", detail: "ids must be integers" }]);
  return ids ? items.filter((item) => ids.includes(item.id)) : items;
}

function listLeads(ctx: ApiContext): SimResponse {
  let leads = filterById(ctx, [...ctx.account.leads.values()].filter((lead) => !lead.is_deleted));
  if (!Array.isArray(leads)) return leads;
  const filter = (ctx.query.filter ?? {}) as Record<string, unknown>;
  const pipelineIds = idList(filter.pipeline_id);
  if (pipelineIds === "invalid") return validationProblem([{ code: "InvalidType", path: "filter.pipeline_id", detail: "ids must be integers" }]);
  if (pipelineIds) leads = leads.filter((lead) => pipelineIds.includes(lead.pipeline_id));
  const updated = (filter.updated_at ?? {}) as Record<string, unknown>;
  if (typeof updated.from === "string") leads = leads.filter((lead) => lead.updated_at >= Number(updated.from));
  if (typeof updated.to === "string") leads = leads.filter((lead) => lead.updated_at <= Number(updated.to));
  const order = (ctx.query.order ?? {}) as Record<string, unknown>;
  if (order.updated_at === "asc" || order.updated_at === "desc") {
    const sign = order.updated_at === "asc" ? 1 : -1;
    leads = [...leads].sort((a, b) => sign * (a.updated_at - b.updated_at || a.id - b.id));
  } else {
    leads = [...leads].sort((a, b) => a.id - b.id);
  }
  return listPage(ctx, "leads", leads, (lead) => renderLead(ctx, lead));
}

function parseJson(ctx: ApiContext): { value: unknown } | SimResponse {
  if (!ctx.contentType.startsWith("application/json")) return problem(415, "Content-Type must be application/json");
  try {
    return { value: JSON.parse(ctx.body) };
  } catch {
    return problem(400, "Request body is not valid JSON");
  }
}

function addNotes(ctx: ApiContext): SimResponse {
  const json = parseJson(ctx);
  if (!("value" in json)) return json;
  const notes = json.value;
  if (!Array.isArray(notes) || notes.length === 0) return validationProblem([{ code: "InvalidType", path: "", detail: "a non-empty array of notes is expected" }]);
  if (notes.length > MAX_LIMIT) return problem(400, `At most ${MAX_LIMIT} notes per request`);
  const errors: ValidationError[] = [];
  notes.forEach((note: Record<string, unknown>, index) => {
    const at = (field: string) => `${index}.${field}`;
    if (typeof note?.entity_id !== "number" || !ctx.account.leads.has(note.entity_id)) errors.push({ code: "NotFound", path: at("entity_id"), detail: "Entity not found" });
    if (typeof note?.note_type !== "string" || !NOTE_TYPES.has(note.note_type)) errors.push({ code: "InvalidChoice", path: at("note_type"), detail: "Unknown note type" });
    const params = note?.params as Record<string, unknown> | undefined;
    const text = (name: string) => typeof params?.[name] === "string" && (params[name] as string).length > 0;
    if (note?.note_type === "common" && !text("text")) errors.push({ code: "NotBlank", path: at("params.text"), detail: "This value should not be blank." });
    if ((note?.note_type === "service_message" || note?.note_type === "extended_service_message") && !(text("service") && text("text"))) {
      errors.push({ code: "NotBlank", path: at("params"), detail: "service and text are required" });
    }
  });
  if (errors.length) return validationProblem(errors);
  const created = notes.map((note: Record<string, unknown>) => {
    const stored = { id: ctx.store.id(), entity_id: note.entity_id as number, note_type: note.note_type as string, params: note.params as Record<string, unknown>, created_at: ctx.store.nowSeconds() };
    ctx.account.notes.push(stored);
    return { id: stored.id, entity_id: stored.entity_id, request_id: String(note.request_id ?? "0"), _links: link(ctx, `/api/v4/leads/${stored.entity_id}/notes/${stored.id}`) };
  });
  return hal(200, { _links: link(ctx, "/api/v4/leads/notes"), _embedded: { notes: created } });
}

const renderWebhook = (webhook: SimAccount["webhooks"][number], createdBy: number) => ({ ...webhook, created_by: createdBy });

function addWebhook(ctx: ApiContext): SimResponse {
  const json = parseJson(ctx);
  if (!("value" in json)) return json;
  const input = json.value as Record<string, unknown> | null;
  const errors: ValidationError[] = [];
  let destinationOk = false;
  try {
    const url = new URL(String(input?.destination));
    destinationOk = url.protocol === "https:" || url.protocol === "http:";
  } catch {
    destinationOk = false;
  }
  if (!destinationOk) errors.push({ code: "InvalidUrl", path: "destination", detail: "destination must be a URL" });
  const settings = input?.settings;
  if (!Array.isArray(settings) || settings.length === 0 || !settings.every((event) => typeof event === "string" && WEBHOOK_EVENTS.has(event))) {
    errors.push({ code: "InvalidChoice", path: "settings", detail: "settings must list known events" });
  }
  if (input?.sort !== undefined && !Number.isInteger(input.sort)) errors.push({ code: "InvalidType", path: "sort", detail: "sort must be an integer" });
  if (errors.length) return validationProblem(errors);
  const now = ctx.store.nowSeconds();
  const destination = String(input!.destination);
  const existing = ctx.account.webhooks.find((webhook) => webhook.destination === destination);
  const webhook = existing ?? { id: ctx.store.id(), destination, settings: [], sort: 10, disabled: false, created_at: now, updated_at: now };
  Object.assign(webhook, { settings: settings as string[], sort: (input!.sort as number | undefined) ?? webhook.sort, disabled: false, updated_at: now });
  if (!existing) ctx.account.webhooks.push(webhook);
  return hal(200, renderWebhook(webhook, ctx.account.users[0]!.id));
}

function listWebhooks(ctx: ApiContext): SimResponse {
  const destination = ((ctx.query.filter ?? {}) as Record<string, unknown>).destination;
  const webhooks = ctx.account.webhooks.filter((webhook) => destination === undefined || webhook.destination === destination);
  if (webhooks.length === 0) return noContent();
  return hal(200, { _total_items: webhooks.length, _embedded: { webhooks: webhooks.map((webhook) => renderWebhook(webhook, ctx.account.users[0]!.id)) } });
}

function deleteWebhook(ctx: ApiContext): SimResponse {
  const json = parseJson(ctx);
  if (!("value" in json)) return json;
  const destination = (json.value as Record<string, unknown> | null)?.destination;
  if (typeof destination !== "string") return validationProblem([{ code: "NotBlank", path: "destination", detail: "destination is required" }]);
  const index = ctx.account.webhooks.findIndex((webhook) => webhook.destination === destination);
  if (index < 0) return problem(404, "Webhook not found");
  ctx.account.webhooks.splice(index, 1);
  return noContent();
}

function renderAccount(ctx: ApiContext) {
  const account = ctx.account;
  return {
    id: account.id,
    name: account.name,
    subdomain: account.subdomain,
    created_at: 1_600_000_000,
    created_by: account.users[0]!.id,
    updated_at: 1_600_000_000,
    updated_by: account.users[0]!.id,
    current_user_id: ctx.userId ?? account.users[0]!.id,
    country: account.country,
    currency: account.currency,
    currency_symbol: account.currency_symbol,
    customers_mode: "disabled",
    is_unsorted_on: true,
    mobile_feature_version: 0,
    is_loss_reason_enabled: true,
    is_helpbot_enabled: false,
    is_technical_account: false,
    contact_name_display_order: 1,
    _links: link(ctx, "/api/v4/account"),
    // As Kommo documents it: under _embedded, only when asked for; PHP date patterns, an IANA zone.
    ...(withList(ctx).includes("datetime_settings") && {
      _embedded: {
        datetime_settings: {
          date_pattern: "d.m.Y H:i",
          short_date_pattern: "d.m.Y",
          short_time_pattern: "H:i",
          date_format: "d.m.Y",
          time_format: "H:i:s",
          timezone: account.timezone,
          timezone_offset: utcOffset(account.timezone),
        },
      },
    }),
  };
}

/** "+03:00" for Europe/Moscow now. */
function utcOffset(timeZone: string): string {
  const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" }).formatToParts(new Date()).find((part) => part.type === "timeZoneName")?.value ?? "GMT";
  return name === "GMT" ? "+00:00" : name.replace("GMT", "");
}

/** A user as GET /api/v4/users and /users/{id} render it, rights included. */
function renderUser(ctx: ApiContext, user: SimUser) {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    lang: user.lang,
    rights: {
      leads: user.leads ?? ALL_RIGHTS,
      contacts: ALL_RIGHTS,
      companies: ALL_RIGHTS,
      tasks: { edit: "A", delete: "A" },
      mail_access: true,
      catalog_access: true,
      status_rights: user.status_rights ?? [],
      is_admin: user.is_admin,
      is_free: false,
      is_active: user.is_active,
      group_id: user.group_id ?? null,
      role_id: null,
    },
    _links: link(ctx, `/api/v4/users/${user.id}`),
  };
}

/** Kommo's users methods are for administrators only: a token issued to another user gets 403 (enforced on /users/{id}). */
const notAdmin = (ctx: ApiContext) => {
  const caller = ctx.userId === undefined ? undefined : ctx.account.users.find((user) => user.id === ctx.userId);
  return caller !== undefined && !caller.is_admin;
};

export type Route = { method: string; pattern: RegExp; key: string; handle: (ctx: ApiContext, match: RegExpExecArray) => SimResponse };

const byId = <Item>(items: Map<number, Item>, id: string, render: (item: Item) => unknown): SimResponse => {
  const item = items.get(Number(id));
  return item ? hal(200, render(item)) : noContent();
};

export const API_ROUTES: Route[] = [
  { method: "GET", pattern: /^\/api\/v4\/account$/, key: "GET /api/v4/account", handle: (ctx) => hal(200, renderAccount(ctx)) },
  {
    method: "GET",
    pattern: /^\/api\/v4\/users$/,
    key: "GET /api/v4/users",
    handle: (ctx) =>
      // Kommo lists users to administrators only; the list stays open here, as the dashboard tests rely on it.
      listPage(ctx, "users", ctx.account.users, (user) => renderUser(ctx, user)),
  },
  {
    method: "GET",
    pattern: /^\/api\/v4\/users\/(\d+)$/,
    key: "GET /api/v4/users/{id}",
    handle: (ctx, match) => {
      if (notAdmin(ctx)) return problem(403, "Insufficient rights to call this method");
      const user = ctx.account.users.find((candidate) => candidate.id === Number(match[1]));
      return user ? hal(200, renderUser(ctx, user)) : noContent();
    },
  },
  {
    method: "GET",
    pattern: /^\/api\/v4\/leads\/pipelines$/,
    key: "GET /api/v4/leads/pipelines",
    handle: (ctx) => {
      const pipelines = [...ctx.account.pipelines.values()];
      return hal(200, { _total_items: pipelines.length, _links: link(ctx, "/api/v4/leads/pipelines"), _embedded: { pipelines: pipelines.map((pipeline) => renderPipeline(ctx, pipeline)) } });
    },
  },
  {
    method: "GET",
    pattern: /^\/api\/v4\/leads\/pipelines\/(\d+)\/statuses$/,
    key: "GET /api/v4/leads/pipelines/:id/statuses",
    handle: (ctx, match) => {
      const pipeline = ctx.account.pipelines.get(Number(match[1]));
      if (!pipeline) return problem(404, "Pipeline not found");
      return hal(200, { _total_items: pipeline.statuses.length, _embedded: { statuses: pipeline.statuses.map((status) => renderStatus(ctx, status)) } });
    },
  },
  { method: "POST", pattern: /^\/api\/v4\/leads\/notes$/, key: "POST /api/v4/leads/notes", handle: addNotes },
  { method: "GET", pattern: /^\/api\/v4\/leads$/, key: "GET /api/v4/leads", handle: listLeads },
  {
    method: "GET",
    pattern: /^\/api\/v4\/leads\/(\d+)$/,
    key: "GET /api/v4/leads/:id",
    handle: (ctx, match) => {
      const lead = ctx.account.leads.get(Number(match[1]));
      return lead && !lead.is_deleted ? hal(200, renderLead(ctx, lead)) : noContent();
    },
  },
  {
    method: "GET",
    pattern: /^\/api\/v4\/contacts$/,
    key: "GET /api/v4/contacts",
    handle: (ctx) => {
      const contacts = filterById(ctx, [...ctx.account.contacts.values()]);
      return Array.isArray(contacts) ? listPage(ctx, "contacts", contacts, (contact) => renderContact(ctx, contact)) : contacts;
    },
  },
  ...CUSTOM_FIELD_ROUTES,
  { method: "GET", pattern: /^\/api\/v4\/contacts\/(\d+)$/, key: "GET /api/v4/contacts/:id", handle: (ctx, match) => byId(ctx.account.contacts, match[1]!, (contact) => renderContact(ctx, contact)) },
  {
    method: "GET",
    pattern: /^\/api\/v4\/companies$/,
    key: "GET /api/v4/companies",
    handle: (ctx) => {
      const companies = filterById(ctx, [...ctx.account.companies.values()]);
      return Array.isArray(companies) ? listPage(ctx, "companies", companies, (company) => renderCompany(ctx, company)) : companies;
    },
  },
  { method: "GET", pattern: /^\/api\/v4\/companies\/(\d+)$/, key: "GET /api/v4/companies/:id", handle: (ctx, match) => byId(ctx.account.companies, match[1]!, (company) => renderCompany(ctx, company)) },
  { method: "GET", pattern: /^\/api\/v4\/events$/, key: "GET /api/v4/events", handle: listEvents },
  { method: "GET", pattern: /^\/api\/v4\/webhooks$/, key: "GET /api/v4/webhooks", handle: listWebhooks },
  { method: "POST", pattern: /^\/api\/v4\/webhooks$/, key: "POST /api/v4/webhooks", handle: addWebhook },
  { method: "DELETE", pattern: /^\/api\/v4\/webhooks$/, key: "DELETE /api/v4/webhooks", handle: deleteWebhook },
];
