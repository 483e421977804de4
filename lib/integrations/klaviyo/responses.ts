// zod schemas for the parts of Klaviyo's responses the client reads (spec 2026-07-15). They are
// loose: Klaviyo adds fields over time, and an extra field must never break a sync.
import { z } from "zod";

const nullableString = z.string().nullish().transform((value) => value ?? null);
const links = z.looseObject({ next: z.string().nullish() }).optional();

const profileResource = z.looseObject({
  type: z.literal("profile"),
  id: z.string().min(1),
  attributes: z.looseObject({
    email: nullableString,
    phone_number: nullableString,
    first_name: nullableString,
    last_name: nullableString,
    organization: nullableString,
    properties: z.record(z.string(), z.unknown()).nullish(),
  }),
});

/** `subscriptions.email.marketing` (spec: EmailMarketing), present only when asked for with additional-fields. */
const emailMarketing = z.looseObject({
  can_receive_email_marketing: z.boolean(),
  consent: z.string(),
  suppression: z.array(z.looseObject({ reason: z.string(), timestamp: z.string().nullish() })).nullish(),
  list_suppressions: z.array(z.looseObject({ list_id: z.string(), reason: z.string() })).nullish(),
});

export const profileConsentCollectionResponse = z.looseObject({
  links,
  data: z.array(
    z.looseObject({
      type: z.literal("profile"),
      id: z.string().min(1),
      attributes: z.looseObject({
        email: nullableString,
        subscriptions: z.looseObject({ email: z.looseObject({ marketing: emailMarketing.nullish() }).nullish() }).nullish(),
      }),
    }),
  ),
});

export const postProfileResponse = z.looseObject({ data: profileResource });

export const profileCollectionResponse = z.looseObject({ data: z.array(profileResource), links });

export const listCollectionResponse = z.looseObject({
  data: z.array(
    z.looseObject({
      type: z.literal("list"),
      id: z.string().min(1),
      attributes: z.looseObject({
        name: nullableString,
        created: nullableString,
        updated: nullableString,
        opt_in_process: z.enum(["double_opt_in", "single_opt_in"]).nullish(),
      }),
    }),
  ),
  links,
});

export const accountCollectionResponse = z.looseObject({
  data: z
    .array(
      z.looseObject({
        type: z.literal("account"),
        id: z.string().min(1),
        attributes: z.looseObject({
          test_account: z.boolean(),
          contact_information: z.looseObject({ organization_name: z.string() }),
          timezone: z.string(),
          preferred_currency: z.string(),
          public_api_key: z.string(),
        }),
      }),
    )
    .min(1),
});

export const metricCollectionResponse = z.looseObject({
  data: z.array(
    z.looseObject({
      type: z.literal("metric"),
      id: z.string().min(1),
      attributes: z.looseObject({
        name: nullableString,
        integration: z.looseObject({ name: z.string().nullish(), category: z.string().nullish() }).nullish(),
      }),
    }),
  ),
  links,
});

const relationshipTo = (type: string) =>
  z.looseObject({ data: z.looseObject({ type: z.literal(type), id: z.string() }).nullish() }).optional();

export const eventCollectionResponse = z.looseObject({
  data: z.array(
    z.looseObject({
      type: z.literal("event"),
      id: z.string().min(1),
      attributes: z.looseObject({
        timestamp: z.number().nullish(),
        datetime: nullableString,
        uuid: nullableString,
        event_properties: z.record(z.string(), z.unknown()).nullish(),
      }),
      relationships: z.looseObject({ profile: relationshipTo("profile"), metric: relationshipTo("metric") }).optional(),
    }),
  ),
  included: z
    .array(z.looseObject({ type: z.string(), id: z.string(), attributes: z.looseObject({ email: z.string().nullish() }).optional() }))
    .optional(),
  links,
});

export const profileImportJobResponse = z.looseObject({
  data: z.looseObject({
    type: z.literal("profile-bulk-import-job"),
    id: z.string().min(1),
    attributes: z.looseObject({
      status: z.enum(["cancelled", "complete", "processing", "queued"]),
      created_at: z.string(),
      total_count: z.number().int(),
      completed_count: z.number().int().nullish(),
      failed_count: z.number().int().nullish(),
      completed_at: nullableString,
      expires_at: nullableString,
      started_at: nullableString,
    }),
  }),
});

/** GET /api/webhooks (no paging: an account has a handful). */
export const webhookCollectionResponse = z.looseObject({
  data: z.array(
    z.looseObject({
      type: z.literal("webhook"),
      id: z.string().min(1),
      attributes: z.looseObject({ name: nullableString, endpoint_url: z.string().nullish(), enabled: z.boolean().nullish() }),
    }),
  ),
});

/** POST /api/webhooks -> 201. */
export const webhookResponse = z.looseObject({
  data: z.looseObject({ type: z.literal("webhook"), id: z.string().min(1) }),
});
