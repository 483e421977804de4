// Request bodies of the simulated operations, written by hand from Klaviyo's OpenAPI spec
// (revision 2026-07-15): ProfileUpsertQuery, ListMembersAddQuery / ListMembersDeleteQuery,
// EventCreateQueryV2, ProfileImportJobCreateQuery and EventsBulkCreateJob. Objects are strict: a
// field the spec does not define (a camelCase `uniqueId`, a misplaced `meta`) is refused, which is
// what catches a client that builds bodies the real API would not understand.
import { z } from "zod";

const nullableString = z.string().nullable().optional();

// OpenAPI "format: date-time" (RFC 3339); Klaviyo also takes a time without offset as UTC.
const dateTime = z.iso.datetime({ offset: true, local: true });

const location = z.strictObject({
  address1: nullableString,
  address2: nullableString,
  city: nullableString,
  country: nullableString,
  latitude: z.union([z.string(), z.number()]).nullable().optional(),
  longitude: z.union([z.string(), z.number()]).nullable().optional(),
  region: nullableString,
  zip: nullableString,
  timezone: nullableString,
  ip: nullableString,
});

const profileMeta = z.strictObject({
  patch_properties: z
    .strictObject({
      append: z.record(z.string(), z.unknown()).nullable().optional(),
      unappend: z.record(z.string(), z.unknown()).nullable().optional(),
      unset: z.union([z.string(), z.array(z.string())]).nullable().optional(),
    })
    .optional(),
  patch_identifiers: z
    .strictObject({
      append: z.record(z.string(), z.unknown()).optional(),
      unappend: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});

const profileAttributeFields = {
  email: nullableString,
  phone_number: nullableString,
  external_id: nullableString,
  _kx: nullableString,
  first_name: nullableString,
  last_name: nullableString,
  organization: nullableString,
  locale: nullableString,
  title: nullableString,
  image: nullableString,
  location: location.optional(),
  properties: z.record(z.string(), z.unknown()).nullable().optional(),
};

/** ProfileUpsertQueryResourceObject: also the item of a bulk import. */
const profileUpsertResource = z.strictObject({
  type: z.literal("profile"),
  id: nullableString,
  attributes: z.strictObject(profileAttributeFields),
  meta: profileMeta.optional(),
});

export const profileUpsertQuery = z.strictObject({ data: profileUpsertResource });

const profileRelationship = z.strictObject({ type: z.literal("profile"), id: z.string() });

/** ListMembersAddQuery and ListMembersDeleteQuery have the same shape. */
export const listMembersQuery = z.strictObject({ data: z.array(profileRelationship) });

const metricReference = z.strictObject({
  data: z.strictObject({
    type: z.literal("metric"),
    attributes: z.strictObject({ name: z.string(), service: nullableString }),
  }),
});

// The event's profile: in EventCreateQueryV2 `meta` sits inside attributes, in the bulk job beside them.
const eventProfileAttributeFields = { ...profileAttributeFields, anonymous_id: nullableString };

export const eventCreateQuery = z.strictObject({
  data: z.strictObject({
    type: z.literal("event"),
    attributes: z.strictObject({
      properties: z.record(z.string(), z.unknown()),
      time: dateTime.nullable().optional(),
      value: z.number().nullable().optional(),
      value_currency: nullableString,
      unique_id: nullableString,
      backfill: z.boolean().nullable().optional(),
      metric: metricReference,
      profile: z.strictObject({
        data: z.strictObject({
          type: z.literal("profile"),
          id: nullableString,
          attributes: z.strictObject({ ...eventProfileAttributeFields, meta: profileMeta.optional() }),
        }),
      }),
    }),
  }),
});

export const profileImportJobCreateQuery = z.strictObject({
  data: z.strictObject({
    type: z.literal("profile-bulk-import-job"),
    attributes: z.strictObject({
      profiles: z.strictObject({ data: z.array(profileUpsertResource) }),
    }),
    relationships: z
      .strictObject({
        lists: z.strictObject({ data: z.array(z.strictObject({ type: z.literal("list"), id: z.string() })) }).optional(),
      })
      .optional(),
  }),
});

const bulkEvent = z.strictObject({
  type: z.literal("event"),
  attributes: z.strictObject({
    properties: z.record(z.string(), z.unknown()),
    time: dateTime.nullable().optional(),
    value: z.number().nullable().optional(),
    value_currency: nullableString,
    backfill: z.boolean().nullable().optional(),
    metric: metricReference,
    unique_id: nullableString,
  }),
});

export const eventsBulkCreateJob = z.strictObject({
  data: z.strictObject({
    type: z.literal("event-bulk-create-job"),
    attributes: z.strictObject({
      "events-bulk-create": z.strictObject({
        data: z.array(
          z.strictObject({
            type: z.literal("event-bulk-create"),
            attributes: z.strictObject({
              backfill: z.boolean().nullable().optional(),
              profile: z.strictObject({
                data: z.strictObject({
                  type: z.literal("profile"),
                  id: nullableString,
                  attributes: z.strictObject(eventProfileAttributeFields),
                  meta: profileMeta.optional(),
                }),
              }),
              events: z.strictObject({ data: z.array(bulkEvent) }),
            }),
          }),
        ),
      }),
    }),
  }),
});

export type ProfileUpsertBody = z.infer<typeof profileUpsertQuery>;
export type ProfileUpsertResource = z.infer<typeof profileUpsertResource>;
export type EventCreateBody = z.infer<typeof eventCreateQuery>;
export type ListMembersBody = z.infer<typeof listMembersQuery>;
export type ProfileImportJobBody = z.infer<typeof profileImportJobCreateQuery>;
export type EventsBulkCreateBody = z.infer<typeof eventsBulkCreateJob>;

/** Klaviyo-style wording of a schema problem, and where it is (JSON pointer). */
export function describeIssue(issue: z.core.$ZodIssue): { pointer: string; detail: string } {
  const path = issue.path.map(String);
  const field = path[path.length - 1] ?? "data";
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    return { pointer: `/${[...path, key].join("/")}`, detail: `'${key}' is not a valid field for this resource.` };
  }
  const pointer = `/${path.join("/")}`;
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) {
    return { pointer, detail: `'${field}' is a required field.` };
  }
  if (issue.code === "invalid_type") return { pointer, detail: `'${field}' must be of type ${issue.expected}.` };
  if (issue.code === "invalid_value") return { pointer, detail: `'${field}' has an invalid value: ${issue.message}.` };
  if (issue.code === "invalid_format") return { pointer, detail: `'${field}' is not a valid ${issue.format}.` };
  return { pointer, detail: `'${field}': ${issue.message}` };
}

/** POST /api/webhooks (WebhookCreateQuery). */
export const webhookCreateQuery = z.strictObject({
  data: z.strictObject({
    type: z.literal("webhook"),
    attributes: z.strictObject({ name: z.string(), description: nullableString.optional(), endpoint_url: z.string(), secret_key: z.string() }),
    relationships: z.strictObject({
      "webhook-topics": z.strictObject({ data: z.array(z.strictObject({ type: z.literal("webhook-topic"), id: z.string() })) }),
    }),
  }),
});
export type WebhookCreateBody = z.infer<typeof webhookCreateQuery>;
