// Kommo CRM webhook bodies: application/x-www-form-urlencoded with nested keys
// (`leads[status][0][id]=15318175&account[id]=1312313`), every value a string. This turns one
// delivery into the changes we record: one per lead, and one per updated contact.
import { createHash } from "node:crypto";
import qs from "qs";
import { z } from "zod";
import { kommoIdTextSchema } from "./ids";
import { KOMMO_LIMITS, truncate } from "./limits";

/** Kommo sections we record, and the event code each one is. */
const LEAD_SECTIONS = {
  add: "add_lead",
  update: "update_lead",
  status: "status_lead",
  delete: "delete_lead",
  restore: "restore_lead",
  responsible: "responsible_lead",
} as const;

const MAX_ITEMS = 500;

const numericId = kommoIdTextSchema;
const unixTime = z
  .string()
  .regex(/^\d{1,12}$/, "must be a unix timestamp")
  .transform((value) => new Date(Number(value) * 1000));

/**
 * qs turns `[0]`, `[1]` into an array, but indexes above its array limit (or sparse ones) into an
 * object keyed by index; both mean "a list of items".
 */
const itemList = <Item extends z.ZodType>(item: Item) =>
  z.preprocess(
    (value) => (value && typeof value === "object" && !Array.isArray(value) ? Object.values(value) : value),
    z.array(item).max(MAX_ITEMS),
  );

const leadItem = z.looseObject({
  id: numericId,
  status_id: numericId.optional(),
  pipeline_id: numericId.optional(),
  updated_at: unixTime.optional(),
  last_modified: unixTime.optional(),
});

const contactItem = z.looseObject({
  id: numericId,
  /** Companies arrive in the contacts section with type=company. */
  type: z.string().max(KOMMO_LIMITS.code).optional(),
  updated_at: unixTime.optional(),
  last_modified: unixTime.optional(),
});

const leadSections = z.looseObject(
  Object.fromEntries(Object.keys(LEAD_SECTIONS).map((section) => [section, itemList(leadItem).optional()])) as Record<
    keyof typeof LEAD_SECTIONS,
    z.ZodOptional<ReturnType<typeof itemList<typeof leadItem>>>
  >,
);

export const webhookBodySchema = z.looseObject({
  account: z.looseObject({ id: numericId, subdomain: z.string().max(KOMMO_LIMITS.subdomain).optional() }),
  leads: leadSections.optional(),
  contacts: z.looseObject({ update: itemList(contactItem).optional() }).optional(),
});

export type LeadChange = {
  kind: (typeof LEAD_SECTIONS)[keyof typeof LEAD_SECTIONS];
  leadId: number;
  changedAt: Date | null;
  payload: Record<string, unknown>;
  dedupeKey: string;
};

export type ContactChange = {
  kind: "update_contact";
  contactId: number;
  changedAt: Date | null;
  payload: Record<string, unknown>;
  /** Completed per lead when the contact's leads are known (the key must differ per lead). */
  dedupeBase: string;
};

export type ParsedDelivery = {
  kommoAccountId: number;
  leads: LeadChange[];
  contacts: ContactChange[];
  /** Companies the delivery reports changed (update_company): their cached names are stale. */
  companies: number[];
};

export type DeliveryParseResult = { ok: true; delivery: ParsedDelivery } | { ok: false; message: string };

/** Same content, same key: Kommo's retry of a delivery lands on the existing row. */
function contentKey(kind: string, raw: unknown): string {
  const canonical = (value: unknown): unknown =>
    value && typeof value === "object"
      ? Array.isArray(value)
        ? value.map(canonical)
        : Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
          )
      : value;
  return createHash("sha256").update(`${kind}\n${JSON.stringify(canonical(raw))}`).digest("hex");
}

/** Every string in a delivered item cut to KOMMO_LIMITS.text: the item is stored as the event's payload. */
function capStrings(value: unknown): unknown {
  if (typeof value === "string") return truncate(value, KOMMO_LIMITS.text);
  if (Array.isArray(value)) return value.map(capStrings);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, capStrings(item)]));
  return value;
}

const rawItems = (section: unknown): Record<string, unknown>[] =>
  section && typeof section === "object" ? (Object.values(section).map(capStrings) as Record<string, unknown>[]) : [];

export function parseWebhookBody(body: string): DeliveryParseResult {
  // Limits keep a hostile body from costing more than a real one; 1000 covers Kommo's largest lists.
  const raw = qs.parse(body, { depth: 8, arrayLimit: 1000, parameterLimit: 20_000, allowPrototypes: false, allowDots: false });
  const parsed = webhookBodySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: `${issue?.path.join(".") || "body"}: ${issue?.message}` };
  }
  const rawLeads = (raw.leads ?? {}) as Record<string, unknown>;
  const leads: LeadChange[] = [];
  for (const [section, kind] of Object.entries(LEAD_SECTIONS) as [keyof typeof LEAD_SECTIONS, LeadChange["kind"]][]) {
    const items = parsed.data.leads?.[section] ?? [];
    const rawList = rawItems(rawLeads[section]);
    items.forEach((item, index) => {
      const payload = rawList[index] ?? {};
      leads.push({
        kind,
        leadId: item.id,
        changedAt: item.updated_at ?? item.last_modified ?? null,
        payload,
        dedupeKey: contentKey(kind, payload),
      });
    });
  }
  const rawContacts = rawItems((raw.contacts as Record<string, unknown> | undefined)?.update);
  const contacts: ContactChange[] = [];
  const companies: number[] = [];
  (parsed.data.contacts?.update ?? []).forEach((item, index) => {
    // Company changes share this section: they only make the next sync read the company again.
    if (item.type === "company") {
      companies.push(item.id);
      return;
    }
    const payload = rawContacts[index] ?? {};
    contacts.push({
      kind: "update_contact",
      contactId: item.id,
      changedAt: item.updated_at ?? item.last_modified ?? null,
      payload,
      dedupeBase: contentKey("update_contact", payload),
    });
  });
  return { ok: true, delivery: { kommoAccountId: parsed.data.account.id, leads, contacts, companies } };
}
