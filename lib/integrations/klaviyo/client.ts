// Typed Klaviyo client: one method per operation this product uses, one instance per tenant key.
//
// Why a thin fetch client rather than the official `klaviyo-api` npm package: the SDK takes
// camelCase bodies and silently drops snake_case fields such as `unique_id` (the field our event
// de-duplication depends on); each SDK major pins one API revision, while we pin it in
// configuration (KLAVIYO_REVISION); it brings axios and ~15 MB of generated code for the ~12
// endpoints we call; and its own retry loop (429/503/504, per process) would fight the rate
// limiter shared by all workers through Postgres. Here every request body is plain JSON:API as in
// Klaviyo's spec, responses are checked with zod, and errors come out typed and actionable.
import type { z } from "zod";
import { getEnv } from "@/lib/platform/env";
import { KlaviyoDuplicateProfileError, KlaviyoError, keyHint } from "./errors";
import { OPERATIONS } from "./operations";
import {
  accountCollectionResponse,
  eventCollectionResponse,
  listCollectionResponse,
  metricCollectionResponse,
  postProfileResponse,
  profileCollectionResponse,
  profileConsentCollectionResponse,
  profileImportJobResponse,
  webhookCollectionResponse,
  webhookResponse,
} from "./responses";
import { KlaviyoTransport, sharedRateLimiter, type RateLimiter } from "./transport";
import type {
  EventBulkJobResult,
  EventInput,
  EventProfile,
  EventsPage,
  EventsQuery,
  KlaviyoAccount,
  KlaviyoEvent,
  KlaviyoList,
  KlaviyoMetric,
  KlaviyoProfile,
  KlaviyoEmailConsent,
  ProfileAttributes,
  ProfileImportJob,
  UpsertProfileResult,
} from "./types";

export type KlaviyoClientOptions = {
  /** The tenant's private key (pk_…). Never logged; errors show its hint only. */
  apiKey: string;
  /** Our Account id: rate-limit buckets are kept per this id and operation, shared by all workers. */
  limiterId: string;
  /** Defaults to KLAVIYO_API_BASE_URL. */
  baseUrl?: string;
  /** Defaults to KLAVIYO_REVISION. */
  revision?: string;
  /** Per request, including reading the body. Default 20 s. */
  timeoutMs?: number;
  /** In-place retries after a 429 (each waits Retry-After). Default 2. */
  maxRateLimitRetries?: number;
  /** In-place retries after a 5xx, network error or timeout (short backoff). Default 2. */
  maxTransientRetries?: number;
  /** A longer Retry-After is handed back to the caller (as KlaviyoRateLimitError) instead of waited out. Default 30 s. */
  maxRetryAfterSeconds?: number;
  limiter?: RateLimiter;
  fetch?: typeof fetch;
};

/** Klaviyo's documented batch limits. */
export const LIMITS = {
  profilesPerListCall: 1000,
  /** page[size] maximum of GET /api/profiles, and how many emails one `any()` lookup carries. */
  profilesPerLookup: 100,
  profilesPerImportJob: 10_000,
  eventsPerBulkJob: 1000,
  bulkPayloadBytes: 5 * 1024 * 1024,
} as const;

/** Profile lookups of one call in flight at once. */
const LOOKUP_CONCURRENCY = 4;

// Klaviyo filter strings quote values with double quotes; escape the two characters that would end them.
const quote = (value: string) => `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

// Datetimes go unquoted in filters; whole seconds, because Klaviyo truncates event times to the second.
const filterDate = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

function cursorOf(next: string | null | undefined): string | null {
  if (!next) return null;
  try {
    return new URL(next).searchParams.get("page[cursor]");
  } catch {
    return null;
  }
}

function profileResource(attributes: ProfileAttributes) {
  return { type: "profile" as const, attributes };
}

function eventAttributes(event: Omit<EventInput, "profile">) {
  return {
    properties: event.properties,
    metric: { data: { type: "metric" as const, attributes: { name: event.metric } } },
    ...(event.time !== undefined && { time: event.time }),
    ...(event.value !== undefined && { value: event.value }),
    ...(event.value_currency !== undefined && { value_currency: event.value_currency }),
    ...(event.unique_id !== undefined && { unique_id: event.unique_id }),
    ...(event.backfill !== undefined && { backfill: event.backfill }),
  };
}

function eventProfileResource(profile: EventProfile) {
  const { id, ...attributes } = profile;
  return { data: { type: "profile" as const, ...(id !== undefined && { id }), attributes } };
}

/** One identity per person within a bulk batch: Klaviyo's de-duplication key is (profile, metric, unique_id). */
function profileIdentity(profile: EventProfile): string {
  if (profile.id) return `id:${profile.id}`;
  if (profile.email) return `email:${profile.email.trim().toLowerCase()}`;
  return `phone:${profile.phone_number ?? ""}`;
}

export class KlaviyoClient {
  private readonly transport: KlaviyoTransport;
  /** "pk_…1a2b", safe to show and store. */
  readonly keyHint: string;

  constructor(options: KlaviyoClientOptions) {
    if (!options.apiKey.trim()) throw new TypeError("Klaviyo API key is empty");
    if (!options.limiterId) throw new TypeError("limiterId is required (our account id)");
    const needsEnv = options.baseUrl === undefined || options.revision === undefined;
    const env = needsEnv ? getEnv() : undefined;
    this.keyHint = keyHint(options.apiKey);
    this.transport = new KlaviyoTransport({
      apiKey: options.apiKey.trim(),
      keyHint: this.keyHint,
      limiterId: options.limiterId,
      baseUrl: options.baseUrl ?? env!.KLAVIYO_API_BASE_URL,
      revision: options.revision ?? env!.KLAVIYO_REVISION,
      timeoutMs: options.timeoutMs ?? 20_000,
      maxRateLimitRetries: options.maxRateLimitRetries ?? 2,
      maxTransientRetries: options.maxTransientRetries ?? 2,
      maxRetryAfterSeconds: options.maxRetryAfterSeconds ?? 30,
      limiter: options.limiter ?? sharedRateLimiter,
      fetch: options.fetch ?? globalThis.fetch,
    });
  }

  /** HTTP requests this client has sent (retries included). */
  get calls(): number {
    return this.transport.calls;
  }

  /** Writes that timed out: Klaviyo may still apply them, late (see KlaviyoTransport). */
  get unansweredWrites(): number {
    return this.transport.unansweredWrites;
  }

  /**
   * Create or update the profile with these attributes (upsert by email / phone). A 409
   * duplicate_profile (the email and the phone belong to two different profiles) is resolved, not
   * thrown: the upsert is repeated on the email alone, so the deal's contact is still synced, and
   * the result names the identifier left out and the other profile.
   */
  async upsertProfile(attributes: ProfileAttributes): Promise<UpsertProfileResult> {
    try {
      return await this.importProfile(attributes);
    } catch (error) {
      if (!(error instanceof KlaviyoDuplicateProfileError)) throw error;
      const keep = attributes.email ? "email" : attributes.phone_number ? "phone_number" : null;
      const drop = (["email", "phone_number"] as const).filter((name) => name !== keep && attributes[name]);
      if (!keep || drop.length === 0) {
        // Nothing left to drop: the profile that owns our identifier is the one to use.
        return { profileId: error.duplicateProfileId, created: false, ignoredIdentifiers: [], conflictingProfileId: error.duplicateProfileId };
      }
      const reduced: ProfileAttributes = { ...attributes };
      for (const name of drop) delete reduced[name];
      const result = await this.importProfile(reduced);
      return {
        ...result,
        ignoredIdentifiers: [...new Set([...drop, ...result.ignoredIdentifiers])],
        conflictingProfileId: error.duplicateProfileId,
      };
    }
  }

  private async importProfile(attributes: ProfileAttributes): Promise<UpsertProfileResult> {
    const operation = OPERATIONS.createOrUpdateProfile;
    const response = await this.transport.send(operation, { body: { data: profileResource(attributes) } });
    const body = this.transport.parse(operation, postProfileResponse, response.json);
    const partial = response.headers.get("x-klaviyo-partial-failure");
    return {
      profileId: body.data.id,
      created: response.status === 201,
      ignoredIdentifiers: partial ? partial.split(",").map((field) => field.trim()).filter(Boolean) : [],
      conflictingProfileId: null,
    };
  }

  /** Add profiles to a list (membership only: never consent). Sent in calls of at most 1000. */
  async addProfilesToList(listId: string, profileIds: string[]): Promise<void> {
    await this.listRelationships(OPERATIONS.addProfilesToList, listId, profileIds);
  }

  /** Remove profiles from a list; their consent and subscription status stay as they are. */
  async removeProfilesFromList(listId: string, profileIds: string[]): Promise<void> {
    await this.listRelationships(OPERATIONS.removeProfilesFromList, listId, profileIds);
  }

  private async listRelationships(
    operation: typeof OPERATIONS.addProfilesToList | typeof OPERATIONS.removeProfilesFromList,
    listId: string,
    profileIds: string[],
  ): Promise<void> {
    const unique = [...new Set(profileIds)];
    for (const ids of chunk(unique, LIMITS.profilesPerListCall)) {
      await this.transport.send(operation, {
        pathParams: { id: listId },
        body: { data: ids.map((id) => ({ type: "profile", id })) },
      });
    }
  }

  /** Record one event (202: accepted for processing). */
  async createEvent(event: EventInput): Promise<void> {
    await this.transport.send(OPERATIONS.createEvent, {
      body: {
        data: {
          type: "event",
          attributes: { ...eventAttributes(event), profile: eventProfileResource(event.profile) },
        },
      },
    });
  }

  /** Every list of the account (Klaviyo pages them 10 at a time; all pages are read). */
  async getLists(): Promise<KlaviyoList[]> {
    const operation = OPERATIONS.getLists;
    const lists: KlaviyoList[] = [];
    let next: string | undefined;
    do {
      const response = await this.transport.send(
        operation,
        next ? { url: next } : { query: { "fields[list]": "name,created,updated,opt_in_process", sort: "name" } },
      );
      const page = this.transport.parse(operation, listCollectionResponse, response.json);
      for (const list of page.data) {
        lists.push({
          id: list.id,
          name: list.attributes.name,
          optInProcess: list.attributes.opt_in_process ?? null,
          created: list.attributes.created,
          updated: list.attributes.updated,
        });
      }
      next = page.links?.next ?? undefined;
    } while (next);
    return lists;
  }

  /** The account the key belongs to: the cheapest check that a key works (needs accounts:read). */
  async getAccount(): Promise<KlaviyoAccount> {
    const operation = OPERATIONS.getAccounts;
    const response = await this.transport.send(operation);
    const account = this.transport.parse(operation, accountCollectionResponse, response.json).data[0]!;
    return {
      id: account.id,
      organizationName: account.attributes.contact_information.organization_name,
      timezone: account.attributes.timezone,
      preferredCurrency: account.attributes.preferred_currency,
      publicApiKey: account.attributes.public_api_key,
      testAccount: account.attributes.test_account,
    };
  }

  /** Profiles with this email (Klaviyo keeps one per email, so 0 or 1). */
  async getProfilesByEmail(email: string): Promise<KlaviyoProfile[]> {
    const operation = OPERATIONS.getProfiles;
    const response = await this.transport.send(operation, {
      query: { filter: `equals(email,${quote(email.trim())})`, "page[size]": "20" },
    });
    return this.transport.parse(operation, profileCollectionResponse, response.json).data.map((profile) => ({
      id: profile.id,
      email: profile.attributes.email,
      phoneNumber: profile.attributes.phone_number,
      firstName: profile.attributes.first_name,
      lastName: profile.attributes.last_name,
      organization: profile.attributes.organization,
      properties: profile.attributes.properties ?? {},
    }));
  }

  /** The email-marketing consent of the profile with this email; null when Klaviyo has no such profile. */
  async getEmailConsent(email: string): Promise<KlaviyoEmailConsent | null> {
    return (await this.getEmailConsents([email])).get(email.trim().toLowerCase()) ?? null;
  }

  /**
   * Email-marketing consent of many emails (`subscriptions` is an additional field, 100 profiles a
   * call). Keys are lower-cased emails; emails without a profile are absent.
   */
  async getEmailConsents(emails: string[]): Promise<Map<string, KlaviyoEmailConsent>> {
    const consents = new Map<string, KlaviyoEmailConsent>();
    const query = { "additional-fields[profile]": "subscriptions", "fields[profile]": "email,subscriptions" };
    await this.eachProfileByEmail(emails, query, profileConsentCollectionResponse, (page) => {
      for (const profile of page.data) {
        if (!profile.attributes.email) continue;
        const marketing = profile.attributes.subscriptions?.email?.marketing;
        consents.set(profile.attributes.email.toLowerCase(), {
          profileId: profile.id,
          consent: marketing?.consent ?? "NEVER_SUBSCRIBED",
          canReceiveEmail: marketing?.can_receive_email_marketing ?? true,
          suppressionReasons: (marketing?.suppression ?? []).map((entry) => entry.reason),
        });
      }
    });
    return consents;
  }

  /**
   * Subscribe an email to email marketing (explicit consent captured elsewhere), with the list whose
   * opt-in process (single or double) then applies. Asynchronous on Klaviyo's side (202).
   */
  async subscribeEmail(email: string, options: { listId?: string | null; customSource: string }): Promise<void> {
    await this.transport.send(OPERATIONS.bulkSubscribeProfiles, {
      body: {
        data: {
          type: "profile-subscription-bulk-create-job",
          attributes: {
            custom_source: options.customSource,
            profiles: { data: [{ type: "profile", attributes: { email, subscriptions: { email: { marketing: { consent: "SUBSCRIBED" } } } } }] },
            historical_import: false,
          },
          ...(options.listId && { relationships: { list: { data: { type: "list", id: options.listId } } } }),
        },
      },
    });
  }

  /**
   * Unsubscribe an email from email marketing everywhere (consent withdrawn). No list is named on
   * purpose: Klaviyo then unsubscribes globally, which is what a withdrawal means, rather than
   * depending on whether the profile happens to be in some list.
   */
  async unsubscribeEmail(email: string): Promise<void> {
    await this.transport.send(OPERATIONS.bulkUnsubscribeProfiles, {
      body: {
        data: {
          type: "profile-subscription-bulk-delete-job",
          attributes: { profiles: { data: [{ type: "profile", attributes: { email, subscriptions: { email: { marketing: { consent: "UNSUBSCRIBED" } } } } }] } },
        },
      },
    });
  }

  /**
   * Whether the key may change consent (scope subscriptions:write), asked without subscribing anyone:
   * a job with no profiles, which Klaviyo refuses as invalid (400) after it has checked the scopes
   * (403 when one is missing).
   */
  async canWriteSubscriptions(): Promise<boolean> {
    try {
      await this.transport.send(OPERATIONS.bulkSubscribeProfiles, {
        body: { data: { type: "profile-subscription-bulk-create-job", attributes: { profiles: { data: [] } } } },
      });
      return true;
    } catch (error) {
      if (error instanceof KlaviyoError && error.kind === "missing_scope") return false;
      if (error instanceof KlaviyoError && error.kind === "invalid_input") return true;
      throw error;
    }
  }

  /**
   * Profile ids of many emails at once (`any(email,[…])`, 100 per call): the lookup after a bulk
   * import, which does not answer with ids. Keys are lower-cased emails; unknown emails are absent.
   */
  async getProfileIdsByEmails(emails: string[]): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    // A few lookups in flight at once (the shared limiter still paces them): latency, not the limit, is what they wait for.
    await this.eachProfileByEmail(emails, { "fields[profile]": "email" }, profileCollectionResponse, (page) => {
      for (const profile of page.data) if (profile.attributes.email) ids.set(profile.attributes.email.toLowerCase(), profile.id);
    }, LOOKUP_CONCURRENCY);
    return ids;
  }

  /**
   * The profiles of these emails (lower-cased, each asked once), 100 per call, every page of each
   * answer handed to `take`; `lanes` calls in flight at once.
   */
  private async eachProfileByEmail<Page extends { links?: { next?: string | null } | null }>(
    emails: string[],
    query: Record<string, string>,
    schema: z.ZodType<Page>,
    take: (page: Page) => void,
    lanes = 1,
  ): Promise<void> {
    const operation = OPERATIONS.getProfiles;
    const unique = [...new Set(emails.map((email) => email.trim().toLowerCase()).filter(Boolean))];
    const lookUp = async (batch: string[]) => {
      const filter = batch.length === 1 ? `equals(email,${quote(batch[0]!)})` : `any(email,[${batch.map(quote).join(",")}])`;
      let next: string | undefined;
      do {
        const response = await this.transport.send(operation, next ? { url: next } : { query: { filter, ...query, "page[size]": String(LIMITS.profilesPerLookup) } });
        const page = this.transport.parse(operation, schema, response.json);
        take(page);
        next = page.links?.next ?? undefined;
      } while (next);
    };
    const batches = chunk(unique, LIMITS.profilesPerLookup);
    await Promise.all(
      Array.from({ length: Math.min(lanes, batches.length) }, async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) await lookUp(batch);
      }),
    );
  }

  /**
   * Ask Klaviyo to delete a person (GDPR/CCPA): by profile id when we know it, else by email.
   * Asynchronous on Klaviyo's side (202); the profile then shows on Klaviyo's Deleted Profiles page.
   */
  async requestProfileDeletion(identifier: { profileId: string } | { email: string }): Promise<void> {
    const profile = "profileId" in identifier ? { type: "profile", id: identifier.profileId, attributes: {} } : { type: "profile", attributes: { email: identifier.email } };
    await this.transport.send(OPERATIONS.requestProfileDeletion, {
      body: { data: { type: "data-privacy-deletion-job", attributes: { profile: { data: profile } } } },
    });
  }

  /** Every metric of the account, optionally only those of one integration (e.g. "Klaviyo" for email metrics). */
  /** The account's system webhooks (Klaviyo offers them to Advanced KDP accounts and app partners). */
  async getWebhooks(): Promise<{ id: string; name: string | null; endpointUrl: string | null }[]> {
    const operation = OPERATIONS.getWebhooks;
    const response = await this.transport.send(operation, {});
    const page = this.transport.parse(operation, webhookCollectionResponse, response.json);
    return page.data.map((webhook) => ({ id: webhook.id, name: webhook.attributes.name, endpointUrl: webhook.attributes.endpoint_url ?? null }));
  }

  /** Create a system webhook for these topics (e.g. `event:klaviyo.opened_email`); returns its id. */
  async createWebhook(webhook: { name: string; description?: string; endpointUrl: string; secretKey: string; topics: string[] }): Promise<string> {
    const operation = OPERATIONS.createWebhook;
    const response = await this.transport.send(operation, {
      body: {
        data: {
          type: "webhook",
          attributes: { name: webhook.name, description: webhook.description, endpoint_url: webhook.endpointUrl, secret_key: webhook.secretKey },
          relationships: { "webhook-topics": { data: webhook.topics.map((id) => ({ type: "webhook-topic", id })) } },
        },
      },
    });
    return this.transport.parse(operation, webhookResponse, response.json).data.id;
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.transport.send(OPERATIONS.deleteWebhook, { pathParams: { id } });
  }

  async getMetrics(filter: { integrationName?: string; integrationCategory?: string } = {}): Promise<KlaviyoMetric[]> {
    const operation = OPERATIONS.getMetrics;
    const conditions = [
      filter.integrationName !== undefined ? `equals(integration.name,${quote(filter.integrationName)})` : null,
      filter.integrationCategory !== undefined ? `equals(integration.category,${quote(filter.integrationCategory)})` : null,
    ].filter((condition): condition is string => condition !== null);
    const metrics: KlaviyoMetric[] = [];
    let next: string | undefined;
    do {
      const response = await this.transport.send(
        operation,
        next ? { url: next } : { query: { filter: conditions.length ? conditions.join(",") : undefined } },
      );
      const page = this.transport.parse(operation, metricCollectionResponse, response.json);
      for (const metric of page.data) {
        const integration = metric.attributes.integration;
        metrics.push({
          id: metric.id,
          name: metric.attributes.name,
          integration: integration ? { name: integration.name ?? null, category: integration.category ?? null } : null,
        });
      }
      next = page.links?.next ?? undefined;
    } while (next);
    return metrics;
  }

  /** One page of events; pass `nextCursor` back (with the same filters) for the next page. */
  async getEvents(query: EventsQuery = {}): Promise<EventsPage> {
    const operation = OPERATIONS.getEvents;
    if (query.pageSize !== undefined && (!Number.isInteger(query.pageSize) || query.pageSize < 1 || query.pageSize > 1000)) {
      throw new RangeError("pageSize must be a whole number from 1 to 1000");
    }
    // Klaviyo accepts one condition per field, joined by commas (an implicit AND).
    const conditions = [
      query.metricId !== undefined ? `equals(metric_id,${quote(query.metricId)})` : null,
      query.profileId !== undefined ? `equals(profile_id,${quote(query.profileId)})` : null,
      query.since !== undefined ? `${query.sinceInclusive ? "greater-or-equal" : "greater-than"}(datetime,${filterDate(query.since)})` : null,
    ].filter((condition): condition is string => condition !== null);
    const response = await this.transport.send(operation, {
      query: {
        filter: conditions.length ? conditions.join(",") : undefined,
        sort: query.sort,
        "page[size]": query.pageSize?.toString(),
        "page[cursor]": query.cursor,
        include: query.includeProfiles ? "profile" : undefined,
        "fields[profile]": query.includeProfiles ? "email" : undefined,
      },
    });
    const page = this.transport.parse(operation, eventCollectionResponse, response.json);
    const events: KlaviyoEvent[] = page.data.map((event) => ({
      id: event.id,
      datetime: event.attributes.datetime,
      timestamp: event.attributes.timestamp ?? null,
      uuid: event.attributes.uuid,
      properties: event.attributes.event_properties ?? {},
      profileId: event.relationships?.profile?.data?.id ?? null,
      metricId: event.relationships?.metric?.data?.id ?? null,
    }));
    const profileEmails: Record<string, string | null> = {};
    for (const resource of page.included ?? []) {
      if (resource.type === "profile") profileEmails[resource.id] = resource.attributes?.email ?? null;
    }
    return { events, profileEmails, nextCursor: cursorOf(page.links?.next) };
  }

  /**
   * Start an asynchronous import of up to 10,000 profiles (5 MB), optionally adding them all to
   * lists. Poll `getProfileImportJob` for the outcome.
   */
  async createProfileImportJob(profiles: ProfileAttributes[], options: { listIds?: string[] } = {}): Promise<ProfileImportJob> {
    const operation = OPERATIONS.bulkImportProfiles;
    if (profiles.length === 0 || profiles.length > LIMITS.profilesPerImportJob) {
      throw new RangeError(`a profile import job takes 1 to ${LIMITS.profilesPerImportJob} profiles (got ${profiles.length})`);
    }
    const listIds = options.listIds ?? [];
    const body = {
      data: {
        type: "profile-bulk-import-job",
        attributes: { profiles: { data: profiles.map(profileResource) } },
        ...(listIds.length > 0 && { relationships: { lists: { data: listIds.map((id) => ({ type: "list", id })) } } }),
      },
    };
    assertPayloadSize(body);
    const response = await this.transport.send(operation, { body });
    return toImportJob(this.transport.parse(operation, profileImportJobResponse, response.json));
  }

  async getProfileImportJob(jobId: string): Promise<ProfileImportJob> {
    const operation = OPERATIONS.getBulkImportProfilesJob;
    const response = await this.transport.send(operation, { pathParams: { job_id: jobId } });
    return toImportJob(this.transport.parse(operation, profileImportJobResponse, response.json));
  }

  /**
   * Create up to 1,000 events in one asynchronous job, grouped per profile as Klaviyo requires.
   * Klaviyo fails the whole job when a batch repeats a unique_id for the same profile and metric,
   * so repeats are dropped here first (keeping the first, as Klaviyo itself does for single events).
   */
  async createEventBulkJob(events: EventInput[], options: { backfill?: boolean } = {}): Promise<EventBulkJobResult> {
    const operation = OPERATIONS.bulkCreateEvents;
    if (events.length === 0 || events.length > LIMITS.eventsPerBulkJob) {
      throw new RangeError(`an event bulk job takes 1 to ${LIMITS.eventsPerBulkJob} events (got ${events.length})`);
    }
    const groups = new Map<string, { profile: EventProfile; events: EventInput[] }>();
    const seen = new Set<string>();
    let duplicatesDropped = 0;
    for (const event of events) {
      const identity = profileIdentity(event.profile);
      if (event.unique_id !== undefined) {
        const dedupeKey = JSON.stringify([identity, event.metric, event.unique_id]);
        if (seen.has(dedupeKey)) {
          duplicatesDropped++;
          continue;
        }
        seen.add(dedupeKey);
      }
      const group = groups.get(identity) ?? { profile: event.profile, events: [] };
      group.events.push(event);
      groups.set(identity, group);
    }
    const body = {
      data: {
        type: "event-bulk-create-job",
        attributes: {
          "events-bulk-create": {
            data: [...groups.values()].map((group) => ({
              type: "event-bulk-create",
              attributes: {
                profile: eventProfileResource(group.profile),
                events: { data: group.events.map((event) => ({ type: "event", attributes: eventAttributes(event) })) },
                ...(options.backfill !== undefined && { backfill: options.backfill }),
              },
            })),
          },
        },
      },
    };
    assertPayloadSize(body);
    await this.transport.send(operation, { body });
    return { sent: events.length - duplicatesDropped, duplicatesDropped };
  }
}

function assertPayloadSize(body: unknown) {
  const bytes = Buffer.byteLength(JSON.stringify(body));
  if (bytes > LIMITS.bulkPayloadBytes) {
    throw new RangeError(`bulk payload is ${bytes} bytes; Klaviyo accepts at most ${LIMITS.bulkPayloadBytes}: send smaller batches`);
  }
}

function toImportJob(body: z.infer<typeof profileImportJobResponse>): ProfileImportJob {
  const attributes = body.data.attributes;
  return {
    id: body.data.id,
    status: attributes.status,
    totalCount: attributes.total_count,
    completedCount: attributes.completed_count ?? 0,
    failedCount: attributes.failed_count ?? 0,
    createdAt: attributes.created_at,
    startedAt: attributes.started_at,
    completedAt: attributes.completed_at,
    expiresAt: attributes.expires_at,
  };
}
