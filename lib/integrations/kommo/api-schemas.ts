// Shapes of the Kommo REST v4 responses we use (hal+json). Fields we rely on are required; the rest
// are optional or nullable because Kommo sends null for empty values (e.g. custom_fields_values).
// Unknown fields are dropped, so a new Kommo field never breaks a sync. Every string is bounded
// (limits.ts): free text is cut to its limit, URLs and subdomains over theirs are refused, and a
// user's e-mail over its limit is dropped (cutting could turn it into someone else's address).
import { z } from "zod";
import { kommoIdSchema, kommoReferenceSchema } from "./ids";
import { KOMMO_LIMITS, truncate } from "./limits";

const id = kommoIdSchema;
/** A reference that Kommo sets to 0 for "none". */
const ref = kommoReferenceSchema;
const unixSeconds = z.number().int();

/** A string cut to `max` characters. */
const capped = (max: number) => z.string().transform((value) => truncate(value, max));
const name = capped(KOMMO_LIMITS.name);
const code = capped(KOMMO_LIMITS.code);

const link = z.object({ href: z.string().max(KOMMO_LIMITS.url) });
const links = z.object({ self: link.optional(), next: link.optional(), prev: link.optional() }).partial();

export const customFieldValueSchema = z.object({
  field_id: id,
  field_name: name.nullish(),
  field_code: code.nullish(),
  field_type: code.nullish(),
  values: z.array(
    z.object({
      value: z.union([capped(KOMMO_LIMITS.text), z.number(), z.boolean()]).nullish(),
      enum_id: id.nullish(),
      enum_code: code.nullish(),
    }),
  ),
});
export type KommoCustomFieldValue = z.infer<typeof customFieldValueSchema>;

const customFields = z.array(customFieldValueSchema).nullish().transform((value) => value ?? []);
const tag = z.object({ id, name: name.nullish() });

export const leadSchema = z.object({
  id,
  name: name.nullish(),
  price: z.number().nullish(),
  responsible_user_id: ref.nullish(),
  group_id: ref.nullish(),
  status_id: id,
  pipeline_id: id,
  loss_reason_id: ref.nullish(),
  created_by: ref.nullish(),
  updated_by: ref.nullish(),
  created_at: unixSeconds,
  updated_at: unixSeconds,
  closed_at: unixSeconds.nullish(),
  is_deleted: z.boolean().optional(),
  custom_fields_values: customFields,
  account_id: id.optional(),
  _embedded: z
    .object({
      tags: z.array(tag).optional(),
      contacts: z.array(z.object({ id, is_main: z.boolean().optional() })).optional(),
      companies: z.array(z.object({ id })).optional(),
      loss_reason: z.array(z.object({ id, name })).optional(),
    })
    .optional(),
});
export type KommoLead = z.infer<typeof leadSchema>;

export const contactSchema = z.object({
  id,
  name: name.nullish(),
  first_name: name.nullish(),
  last_name: name.nullish(),
  responsible_user_id: ref.nullish(),
  updated_by: ref.nullish(),
  created_at: unixSeconds.optional(),
  updated_at: unixSeconds.optional(),
  is_deleted: z.boolean().optional(),
  custom_fields_values: customFields,
  account_id: id.optional(),
  _embedded: z
    .object({
      tags: z.array(tag).optional(),
      companies: z.array(z.object({ id })).optional(),
      leads: z.array(z.object({ id })).optional(),
    })
    .optional(),
});
export type KommoContact = z.infer<typeof contactSchema>;

export const customFieldSchema = z.object({
  id,
  name,
  type: code,
  code: code.nullish(),
  is_api_only: z.boolean().optional(),
  enums: z.array(z.object({ id, value: name, sort: z.number().int().optional() })).nullish(),
});
export type KommoCustomField = z.infer<typeof customFieldSchema>;

export const companySchema = z.object({
  id,
  name: name.nullish(),
  responsible_user_id: ref.nullish(),
  created_at: unixSeconds.optional(),
  updated_at: unixSeconds.optional(),
  is_deleted: z.boolean().optional(),
  custom_fields_values: customFields,
  account_id: id.optional(),
});
export type KommoCompany = z.infer<typeof companySchema>;

export const statusSchema = z.object({
  id,
  name,
  sort: z.number().int().optional(),
  is_editable: z.boolean().optional(),
  pipeline_id: id,
  color: code.nullish(),
  /** 0 regular, 1 "Incoming leads" (unsorted). */
  type: z.number().int().optional(),
});
export type KommoStatus = z.infer<typeof statusSchema>;

export const pipelineSchema = z.object({
  id,
  name,
  sort: z.number().int().optional(),
  is_main: z.boolean().optional(),
  is_unsorted_on: z.boolean().optional(),
  is_archive: z.boolean().optional(),
  account_id: id.optional(),
  _embedded: z.object({ statuses: z.array(statusSchema) }),
});
export type KommoPipeline = z.infer<typeof pipelineSchema>;

export const accountSchema = z.object({
  id,
  name,
  subdomain: z.string().max(KOMMO_LIMITS.subdomain),
  current_user_id: ref.optional(),
  country: code.nullish(),
  currency: code.nullish(),
  currency_symbol: code.nullish(),
  /** Not in Kommo's v4 account documentation (API v2 had it); read when an account sends it. */
  language: code.nullish(),
  /** `?with=datetime_settings` (docs/kommo-account-settings.md): PHP date patterns and an IANA zone. */
  _embedded: z
    .object({
      datetime_settings: z
        .object({ timezone: code.nullish(), timezone_offset: code.nullish(), date_format: code.nullish(), time_format: code.nullish() })
        .nullish(),
    })
    .nullish(),
});
export type KommoAccount = z.infer<typeof accountSchema>;

/** Kommo's rights letters: A all, G the deals of the user's group, M the user's own, D none. */
const right = z.enum(["A", "G", "M", "D"]);
const entityRights = z.object({ view: right.optional() }).passthrough();

export const userSchema = z.object({
  id,
  name: name.nullish(),
  email: z
    .string()
    .nullish()
    .transform((value) => (value && value.length > KOMMO_LIMITS.email ? null : value)),
  lang: code.nullish(),
  rights: z
    .object({
      is_admin: z.boolean().optional(),
      is_active: z.boolean().optional(),
      group_id: ref.nullish(),
      leads: entityRights.optional(),
      /** Stage rights: for leads in that stage they replace the general ones. */
      status_rights: z
        .array(z.object({ entity_type: z.string().max(KOMMO_LIMITS.code), pipeline_id: id, status_id: id, rights: z.object({ view: right.optional() }).passthrough() }).passthrough())
        .nullish(),
    })
    .partial()
    .optional(),
});
export type KommoUser = z.infer<typeof userSchema>;

export const webhookSchema = z.object({
  id,
  destination: z.string().max(KOMMO_LIMITS.url),
  settings: z.array(code),
  disabled: z.boolean().optional(),
  sort: z.number().int().optional(),
  created_at: unixSeconds.optional(),
  updated_at: unixSeconds.optional(),
});
export type KommoWebhook = z.infer<typeof webhookSchema>;

export const createdNoteSchema = z.object({ id, entity_id: id, request_id: z.union([z.string(), z.number()]).optional() });
export type KommoCreatedNote = z.infer<typeof createdNoteSchema>;

/** A list answer: `_embedded.{key}` plus `_links.next` while more pages exist. */
export function collectionSchema<Item extends z.ZodType>(key: string, item: Item) {
  return z.object({
    _page: z.number().int().optional(),
    _links: links.optional(),
    _embedded: z.object({ [key]: z.array(item) }),
  });
}

export type Collection<Item> = { items: Item[]; nextHref: string | null };

/** Kommo's error body (application/problem+json); OAuth errors add `hint`. */
export const problemSchema = z
  .object({
    title: capped(KOMMO_LIMITS.text).optional(),
    type: capped(KOMMO_LIMITS.text).optional(),
    status: z.number().optional(),
    detail: capped(KOMMO_LIMITS.text).optional(),
    hint: capped(KOMMO_LIMITS.text).optional(),
    retry_after: z.coerce.number().optional(),
    "validation-errors": z.unknown().optional(),
  })
  .loose();
export type KommoProblemBody = z.infer<typeof problemSchema>;
