// What callers hand the client and get back. Payload fields keep Klaviyo's own (snake_case) names so
// that what the mapping builds is exactly what Klaviyo receives; wrapper fields are ours (camelCase).

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type ProfileLocation = {
  address1?: string | null;
  address2?: string | null;
  city?: string | null;
  country?: string | null;
  region?: string | null;
  zip?: string | null;
  timezone?: string | null;
};

/**
 * Attributes of a profile upsert (`null` clears a field in Klaviyo, a missing key leaves it as is).
 * `external_id` is deliberately absent: mixing it with email-only calls creates permanent duplicate
 * profiles in Klaviyo, so this product identifies people by email (and phone) only.
 */
export type ProfileAttributes = {
  email?: string | null;
  /** E.164 (+15005550006). */
  phone_number?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  organization?: string | null;
  title?: string | null;
  locale?: string | null;
  image?: string | null;
  location?: ProfileLocation | null;
  properties?: Record<string, JsonValue> | null;
};

/**
 * Who an event belongs to (at least one identifier), and optionally attributes to set on that
 * profile as the event is recorded.
 */
export type EventProfile = { id?: string; email?: string; phone_number?: string } & Omit<ProfileAttributes, "email" | "phone_number">;

export type EventInput = {
  /** Metric name (Klaviyo creates the metric on first use); fewer than 128 characters. */
  metric: string;
  profile: EventProfile;
  properties: Record<string, JsonValue>;
  /** ISO 8601 with offset; Klaviyo truncates to the second. */
  time?: string;
  value?: number | null;
  /** ISO 4217. */
  value_currency?: string | null;
  /** Same unique_id for the same profile and metric = one event, whatever the number of deliveries. */
  unique_id?: string;
  /** Record without triggering flows (historical imports). */
  backfill?: boolean;
};

export type UpsertProfileResult = {
  profileId: string;
  /** 201 (new profile) rather than 200 (existing one updated). */
  created: boolean;
  /**
   * Identifiers left out of what Klaviyo stored, e.g. ["phone_number"] when the phone belongs to
   * another profile (409 resolved by upserting on the email alone) or Klaviyo ignored an invalid
   * phone (X-Klaviyo-Partial-Failure).
   */
  ignoredIdentifiers: string[];
  /** Set when a 409 duplicate_profile was resolved: the other profile that holds the identifier. */
  conflictingProfileId: string | null;
};

export type KlaviyoList = {
  id: string;
  name: string | null;
  optInProcess: "double_opt_in" | "single_opt_in" | null;
  created: string | null;
  updated: string | null;
};

export type KlaviyoAccount = {
  id: string;
  organizationName: string;
  timezone: string;
  preferredCurrency: string;
  publicApiKey: string;
  testAccount: boolean;
};

export type KlaviyoProfile = {
  id: string;
  email: string | null;
  phoneNumber: string | null;
  firstName: string | null;
  lastName: string | null;
  organization: string | null;
  properties: Record<string, unknown>;
};

/** A profile's email-marketing consent as Klaviyo has it (`subscriptions.email.marketing`). */
export type KlaviyoEmailConsent = {
  profileId: string;
  /** SUBSCRIBED, NEVER_SUBSCRIBED or UNSUBSCRIBED. */
  consent: string;
  /** False when the profile has a global suppression. */
  canReceiveEmail: boolean;
  /** HARD_BOUNCE, INVALID_EMAIL, SPAM_COMPLAINT, UNSUBSCRIBE, USER_SUPPRESSED. */
  suppressionReasons: string[];
};

export type KlaviyoMetric = {
  id: string;
  name: string | null;
  integration: { name: string | null; category: string | null } | null;
};

export type KlaviyoEvent = {
  id: string;
  /** ISO 8601. */
  datetime: string | null;
  /** Epoch seconds. */
  timestamp: number | null;
  uuid: string | null;
  properties: Record<string, unknown>;
  profileId: string | null;
  metricId: string | null;
};

export type EventsQuery = {
  metricId?: string;
  profileId?: string;
  /** Only events after this instant (`greater-than(datetime, …)`); `sinceInclusive` makes it greater-or-equal. */
  since?: Date;
  sinceInclusive?: boolean;
  sort?: "datetime" | "-datetime" | "timestamp" | "-timestamp";
  /** 1..1000 (Klaviyo's default is 200). */
  pageSize?: number;
  /** `nextCursor` of the previous page; the other fields must be the same as for that page. */
  cursor?: string;
  /** Also return the email of each event's profile (include=profile). */
  includeProfiles?: boolean;
};

export type EventsPage = {
  events: KlaviyoEvent[];
  /** Email per profile id, when `includeProfiles` was set. */
  profileEmails: Record<string, string | null>;
  nextCursor: string | null;
};

export type ProfileImportJob = {
  id: string;
  status: "queued" | "processing" | "complete" | "cancelled";
  totalCount: number;
  completedCount: number;
  failedCount: number;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  expiresAt: string | null;
};

export type EventBulkJobResult = {
  /** Events sent, after de-duplication. */
  sent: number;
  /** Events dropped because the batch already held the same unique_id for the same profile and metric. */
  duplicatesDropped: number;
};
