// Contact custom fields of the simulated Kommo: list and create fields (POST takes an array; select
// fields carry enums), and PATCH /api/v4/contacts setting values with Kommo's type checks (an
// unknown field or enum, or a value of the wrong type, is a 400 validation error and nothing is
// changed), plus tags_to_add / tags_to_delete.
import type { ApiContext, Route } from "./api";
import { hal, problem, validationProblem, type SimResponse, type ValidationError } from "./respond";
import type { SimAccount, SimContact, SimCustomField } from "./store";

export type SimFieldDefinition = {
  id: number;
  name: string;
  type: string;
  code: string | null;
  is_api_only: boolean;
  enums: { id: number; value: string; sort: number }[] | null;
};

const FIELD_TYPES = new Set(["text", "numeric", "checkbox", "select", "multiselect", "multitext", "date", "url", "date_time", "textarea", "radiobutton"]);
const MAX_WRITE = 250;

const fields = new WeakMap<SimAccount, SimFieldDefinition[]>();
const tags = new WeakMap<SimContact, Set<string>>();

/** The account's contact fields (the standard PHONE and EMAIL are not listed here). */
export function contactFields(account: SimAccount): SimFieldDefinition[] {
  let list = fields.get(account);
  if (!list) fields.set(account, (list = []));
  return list;
}

export function contactTags(contact: SimContact): Set<string> {
  let set = tags.get(contact);
  if (!set) tags.set(contact, (set = new Set()));
  return set;
}

function parseArray(ctx: ApiContext): unknown[] | SimResponse {
  if (!ctx.contentType.startsWith("application/json")) return problem(415, "Content-Type must be application/json");
  let value: unknown;
  try {
    value = JSON.parse(ctx.body);
  } catch {
    return problem(400, "Request body is not valid JSON");
  }
  if (!Array.isArray(value) || value.length === 0) return validationProblem([{ code: "InvalidType", path: "", detail: "a non-empty array is expected" }]);
  if (value.length > MAX_WRITE) return problem(400, `At most ${MAX_WRITE} entities per request`);
  return value;
}

const renderField = (ctx: ApiContext, field: SimFieldDefinition) => ({
  ...field,
  sort: 500,
  entity_type: "contacts",
  is_predefined: false,
  is_deletable: true,
  remind: null,
  required_statuses: [],
  _links: { self: { href: `${ctx.baseUrl}/api/v4/contacts/custom_fields/${field.id}` } },
});

function listFields(ctx: ApiContext): SimResponse {
  const list = contactFields(ctx.account);
  if (list.length === 0) return { status: 204, headers: {}, body: "" };
  return hal(200, { _total_items: list.length, _page: 1, _links: { self: { href: `${ctx.baseUrl}${ctx.path}` } }, _embedded: { custom_fields: list.map((field) => renderField(ctx, field)) } });
}

function createFields(ctx: ApiContext): SimResponse {
  const items = parseArray(ctx);
  if (!Array.isArray(items)) return items;
  const errors: ValidationError[] = [];
  items.forEach((raw, index) => {
    const item = raw as Record<string, unknown>;
    if (typeof item?.name !== "string" || !item.name) errors.push({ code: "NotBlank", path: `${index}.name`, detail: "This value should not be blank." });
    if (typeof item?.type !== "string" || !FIELD_TYPES.has(item.type)) errors.push({ code: "InvalidChoice", path: `${index}.type`, detail: "Unknown field type" });
    if (item?.code !== undefined && contactFields(ctx.account).some((field) => field.code === item.code)) {
      errors.push({ code: "NotUnique", path: `${index}.code`, detail: "A field with this code exists" });
    }
    const needsEnums = item?.type === "select" || item?.type === "multiselect" || item?.type === "radiobutton";
    if (needsEnums && (!Array.isArray(item.enums) || item.enums.length === 0 || !item.enums.every((entry) => typeof (entry as { value?: unknown })?.value === "string"))) {
      errors.push({ code: "NotBlank", path: `${index}.enums`, detail: "enums are required for this type" });
    }
  });
  if (errors.length) return validationProblem(errors);
  const created = items.map((raw) => {
    const item = raw as { name: string; type: string; code?: string; is_api_only?: boolean; enums?: { value: string; sort?: number }[] };
    const field: SimFieldDefinition = {
      id: ctx.store.id(),
      name: item.name,
      type: item.type,
      code: item.code ?? null,
      is_api_only: item.is_api_only ?? false,
      enums: item.enums ? item.enums.map((entry, index) => ({ id: ctx.store.id(), value: entry.value, sort: entry.sort ?? (index + 1) * 10 })) : null,
    };
    contactFields(ctx.account).push(field);
    return field;
  });
  return hal(200, { _total_items: created.length, _embedded: { custom_fields: created.map((field) => renderField(ctx, field)) } });
}

type FieldInput = { field_id?: unknown; field_code?: unknown; values?: unknown };

/** The stored value of one field input, or the validation error. */
function valueOf(account: SimAccount, input: FieldInput, path: string): { field: SimFieldDefinition; values: SimCustomField["values"] | null } | ValidationError {
  const field = contactFields(account).find((candidate) => (input.field_id !== undefined ? candidate.id === input.field_id : candidate.code === input.field_code));
  if (!field) return { code: "NotFound", path: `${path}.field_id`, detail: "Field not found" };
  if (input.values === null) return { field, values: null };
  if (!Array.isArray(input.values) || input.values.length === 0) return { code: "InvalidType", path: `${path}.values`, detail: "values must be a non-empty array or null" };
  const values: SimCustomField["values"] = [];
  for (const [index, raw] of (input.values as Record<string, unknown>[]).entries()) {
    const at = `${path}.values.${index}`;
    if (field.type === "checkbox") {
      if (typeof raw?.value !== "boolean") return { code: "InvalidType", path: `${at}.value`, detail: "checkbox values are true or false" };
      values.push({ value: raw.value });
    } else if (field.enums) {
      const entry = field.enums.find((candidate) => (raw?.enum_id !== undefined ? candidate.id === raw.enum_id : candidate.value === raw?.value));
      if (!entry) return { code: "InvalidChoice", path: at, detail: "Enum not found" };
      values.push({ value: entry.value, enum_id: entry.id });
    } else {
      if (typeof raw?.value !== "string" && typeof raw?.value !== "number") return { code: "InvalidType", path: `${at}.value`, detail: "a value is expected" };
      values.push({ value: String(raw.value) });
    }
  }
  return { field, values };
}

/** Set a field's values on the contact as Kommo stores them (null clears). */
export function setContactField(contact: SimContact, field: SimFieldDefinition, values: SimCustomField["values"] | null): void {
  const others = (contact.custom_fields_values ?? []).filter((entry) => entry.field_id !== field.id);
  const next = values === null ? others : [...others, { field_id: field.id, field_name: field.name, field_code: field.code, field_type: field.type, values }];
  contact.custom_fields_values = next.length ? next : null;
}

function patchContacts(ctx: ApiContext): SimResponse {
  const items = parseArray(ctx);
  if (!Array.isArray(items)) return items;
  const errors: ValidationError[] = [];
  const changes: { contact: SimContact; set: { field: SimFieldDefinition; values: SimCustomField["values"] | null }[]; add: string[]; remove: string[] }[] = [];
  items.forEach((raw, index) => {
    const item = raw as { id?: unknown; custom_fields_values?: unknown; tags_to_add?: unknown; tags_to_delete?: unknown };
    const contact = typeof item?.id === "number" ? ctx.account.contacts.get(item.id) : undefined;
    if (!contact) return errors.push({ code: "NotFound", path: `${index}.id`, detail: "Entity not found" });
    const set: (typeof changes)[number]["set"] = [];
    if (item.custom_fields_values !== undefined) {
      if (!Array.isArray(item.custom_fields_values)) return errors.push({ code: "InvalidType", path: `${index}.custom_fields_values`, detail: "an array is expected" });
      for (const [position, input] of (item.custom_fields_values as FieldInput[]).entries()) {
        const outcome = valueOf(ctx.account, input, `${index}.custom_fields_values.${position}`);
        if ("code" in outcome) return errors.push(outcome);
        set.push(outcome);
      }
    }
    const names = (value: unknown) => (Array.isArray(value) ? value.map((tag) => String((tag as { name?: unknown })?.name ?? "")).filter(Boolean) : []);
    changes.push({ contact, set, add: names(item.tags_to_add), remove: names(item.tags_to_delete) });
  });
  if (errors.length) return validationProblem(errors);
  const now = ctx.store.nowSeconds();
  for (const change of changes) {
    for (const { field, values } of change.set) setContactField(change.contact, field, values);
    for (const name of change.add) contactTags(change.contact).add(name);
    for (const name of change.remove) contactTags(change.contact).delete(name);
    change.contact.updated_at = Math.max(change.contact.updated_at + 1, now);
  }
  return hal(200, {
    _links: { self: { href: `${ctx.baseUrl}/api/v4/contacts` } },
    _embedded: { contacts: changes.map((change) => ({ id: change.contact.id, updated_at: change.contact.updated_at, _links: { self: { href: `${ctx.baseUrl}/api/v4/contacts/${change.contact.id}` } } })) },
  });
}

export const CUSTOM_FIELD_ROUTES: Route[] = [
  { method: "GET", pattern: /^\/api\/v4\/contacts\/custom_fields$/, key: "GET /api/v4/contacts/custom_fields", handle: listFields },
  { method: "POST", pattern: /^\/api\/v4\/contacts\/custom_fields$/, key: "POST /api/v4/contacts/custom_fields", handle: createFields },
  { method: "PATCH", pattern: /^\/api\/v4\/contacts$/, key: "PATCH /api/v4/contacts", handle: patchContacts },
];
