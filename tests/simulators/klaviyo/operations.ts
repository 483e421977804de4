// The simulated operations: route, scopes (x-klaviyo-scopes), rate limits (x-klaviyo-ratelimit),
// query parameters and body schema from Klaviyo's spec (revision 2026-07-15), and what each does.
import type { ZodType } from "zod";
import { matches, type ParsedQuery, type QuerySpec } from "./query";
import {
  accountResource,
  eventResource,
  importJobResource,
  invalid,
  listResource,
  metricResource,
  profileResource,
  SimHttpError,
  type SimResponse,
} from "./responses";
import {
  eventCreateQuery,
  eventsBulkCreateJob,
  listMembersQuery,
  profileImportJobCreateQuery,
  profileUpsertQuery,
  webhookCreateQuery,
  type WebhookCreateBody,
  type EventCreateBody,
  type EventsBulkCreateBody,
  type ListMembersBody,
  type ProfileImportJobBody,
  type ProfileUpsertBody,
} from "./schemas";
import { requestProfileDeletion } from "./privacy";
import { bulkSubscribeProfiles, bulkUnsubscribeProfiles, subscriptionsAttribute } from "./subscriptions";
import { newShortId, newUlid, type IncomingProfile, type SimAccount, type SimEvent, type SimImportJob, type SimProfile, type SimWebhook } from "./store";

export type HandlerContext = {
  account: SimAccount;
  pathParams: Record<string, string>;
  query: ParsedQuery;
  url: URL;
  base: string;
  body: unknown;
  /** Run `task` after the simulator's job delay (asynchronous bulk jobs). */
  later: (task: () => void, steps?: number) => void;
};

export type SimOperation = {
  id: string;
  method: "GET" | "POST" | "DELETE";
  path: string;
  scopes: readonly string[];
  burstPerSecond: number;
  steadyPerMinute: number;
  query: QuerySpec;
  body?: ZodType;
  maxBodyBytes?: number;
  handle: (context: HandlerContext) => SimResponse;
};

const PROFILE_FIELDS = [
  "created", "email", "external_id", "first_name", "id", "image", "last_event_date", "last_name", "locale",
  "location", "location.*", "organization", "phone_number", "predictive_analytics", "predictive_analytics.*",
  "properties", "subscriptions", "subscriptions.*", "title", "updated",
];
const LIST_FIELDS = ["created", "id", "name", "opt_in_process", "updated"];
const METRIC_FIELDS = ["created", "id", "integration", "name", "updated"];
const FLOW_FIELDS = ["archived", "created", "id", "name", "status", "trigger_type", "updated"];
const JOB_FIELDS = ["completed_at", "completed_count", "created_at", "expires_at", "failed_count", "id", "started_at", "status", "total_count"];
const ACCOUNT_FIELDS = [
  "contact_information", "contact_information.*", "id", "industry", "locale", "preferred_currency", "public_api_key", "test_account", "timezone",
];
const DATE_RANGE = ["greater-or-equal", "greater-than", "less-or-equal", "less-than"];

const JSON_BODY_LIMIT = 5 * 1024 * 1024;

// ---- paging ------------------------------------------------------------------------------------

function decodeCursor(cursor: string | null): number {
  if (cursor === null) return 0;
  try {
    const offset = (JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { o?: unknown }).o;
    if (typeof offset === "number" && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through to the error below
  }
  throw invalid("Invalid page cursor.", { parameter: "page[cursor]" });
}

function paged<T>(items: T[], context: HandlerContext): { slice: T[]; links: Record<string, string> } {
  const offset = decodeCursor(context.query.cursor);
  const size = context.query.pageSize;
  const slice = items.slice(offset, offset + size);
  const link = (at: number) => {
    const url = new URL(context.url.pathname + context.url.search, context.base);
    url.searchParams.set("page[cursor]", Buffer.from(JSON.stringify({ o: at })).toString("base64url"));
    return url.toString();
  };
  const links: Record<string, string> = { self: `${context.base}${context.url.pathname}${context.url.search}` };
  if (offset + size < items.length) links.next = link(offset + size);
  if (offset > 0) links.prev = link(Math.max(0, offset - size));
  return { slice, links };
}

function sortBy<T>(items: T[], sort: string | null, key: (item: T, field: string) => string | number | null): T[] {
  if (!sort) return items;
  const field = sort.replace(/^-/, "");
  const direction = sort.startsWith("-") ? -1 : 1;
  return [...items].sort((a, b) => {
    const left = key(a, field) ?? "";
    const right = key(b, field) ?? "";
    return left < right ? -direction : left > right ? direction : 0;
  });
}

// ---- shared checks -----------------------------------------------------------------------------

type IncomingEvent = {
  properties: Record<string, unknown>;
  time?: string | null;
  value?: number | null;
  value_currency?: string | null;
  unique_id?: string | null;
  backfill?: boolean | null;
  metric: { data: { attributes: { name: string } } };
};

/** The rules of an event beyond its schema: metric name length, time window, currency, property count. */
function checkEvent(event: IncomingEvent, pointer: string): Date {
  const name = event.metric.data.attributes.name;
  if (name.length === 0 || name.length >= 128) {
    throw invalid("Metric name must be between 1 and 127 characters.", { pointer: `${pointer}/metric/data/attributes/name` });
  }
  if (Object.keys(event.properties).length > 400) {
    throw invalid("An event cannot have more than 400 properties.", { pointer: `${pointer}/properties` });
  }
  const time = event.time ? new Date(event.time) : new Date();
  const yearAhead = Date.now() + 365 * 24 * 3600 * 1000;
  if (time.getTime() < Date.UTC(1990, 0, 1) || time.getTime() > yearAhead) {
    throw invalid("The time must be after 1990 and at most 1 year in the future.", { pointer: `${pointer}/time` });
  }
  if (event.value_currency != null && !/^[A-Z]{3}$/.test(event.value_currency)) {
    throw invalid(`'${event.value_currency}' is not an ISO 4217 currency code.`, { pointer: `${pointer}/value_currency` });
  }
  return time;
}

function throwProfileProblem(outcome: { kind: "conflict" | "invalid" | "not_found"; [key: string]: unknown }): never {
  if (outcome.kind === "conflict") {
    throw new SimHttpError(409, "duplicate_profile", "A profile already exists with one of these identifiers.", { pointer: "/data/attributes" }, {
      duplicate_profile_id: outcome.duplicateProfileId,
    });
  }
  if (outcome.kind === "not_found") throw new SimHttpError(404, "not_found", String(outcome.detail));
  throw invalid(String(outcome.detail), { pointer: String(outcome.pointer) });
}

function partialFailureHeader(fields: string[]): Record<string, string> {
  return fields.length ? { "X-Klaviyo-Partial-Failure": fields.join(",") } : {};
}

/** The profile's identity within one bulk batch (for the unique_id rule). */
function batchIdentity(profile: IncomingProfile): string {
  const attributes = profile.attributes;
  if (profile.id) return `id:${profile.id}`;
  for (const field of ["email", "phone_number", "external_id", "anonymous_id", "_kx"]) {
    const value = attributes[field];
    if (typeof value === "string" && value) return `${field}:${field === "email" ? value.toLowerCase() : value}`;
  }
  return "none";
}

/** The profile resource, with `subscriptions` only when the request asked for it (additional-fields). */
function withSubscriptions(context: HandlerContext, profile: SimProfile) {
  const resource = profileResource(profile, context.base);
  const asked = (context.url.searchParams.get("additional-fields[profile]") ?? "").split(",").includes("subscriptions");
  return asked ? { ...resource, attributes: { ...resource.attributes, subscriptions: subscriptionsAttribute(profile) } } : resource;
}

// ---- the operations ----------------------------------------------------------------------------

export const SIM_OPERATIONS: SimOperation[] = [
  {
    id: "create_or_update_profile",
    method: "POST",
    path: "/api/profile-import",
    scopes: ["profiles:write"],
    burstPerSecond: 75,
    steadyPerMinute: 750,
    query: { fields: { profile: PROFILE_FIELDS }, additionalFields: { profile: ["subscriptions", "predictive_analytics"] } },
    body: profileUpsertQuery,
    maxBodyBytes: 100 * 1024,
    handle(context) {
      const { data } = context.body as ProfileUpsertBody;
      const outcome = context.account.upsert({ id: data.id, attributes: data.attributes, meta: data.meta });
      if (outcome.kind !== "ok") throwProfileProblem(outcome);
      return {
        status: outcome.created ? 201 : 200,
        headers: partialFailureHeader(outcome.partialFailure),
        body: { data: withSubscriptions(context, outcome.profile), links: { self: `${context.base}/api/profile-import` } },
      };
    },
  },
  {
    id: "get_profiles",
    method: "GET",
    path: "/api/profiles",
    scopes: ["profiles:read"],
    burstPerSecond: 75,
    steadyPerMinute: 750,
    query: {
      fields: { profile: PROFILE_FIELDS, conversation: ["channel", "id"], "push-token": ["background", "created", "enablement_status", "id", "metadata", "metadata.*", "platform", "recorded_date", "vendor"] },
      additionalFields: { profile: ["subscriptions", "predictive_analytics"] },
      include: ["conversations", "push-tokens"],
      sort: ["created", "-created", "email", "-email", "id", "-id", "updated", "-updated"],
      pageSize: { min: 1, max: 100, default: 20 },
      filter: {
        id: { single: ["equals"], list: ["any", "equals"] },
        email: { single: ["equals"], list: ["any", "equals"] },
        phone_number: { single: ["equals"], list: ["any", "equals"] },
        external_id: { single: ["equals"], list: ["any", "equals"] },
        _kx: { single: ["equals"] },
        created: { single: ["greater-than", "less-than"], value: "date-time" },
        updated: { single: ["greater-than", "less-than"], value: "date-time" },
      },
    },
    handle(context) {
      const fold = (value: unknown) => (typeof value === "string" ? value.toLowerCase() : value);
      // Emails compare without regard to case: fold the filter's values once, each profile's as it comes.
      const conditions = context.query.filter.map((condition) =>
        condition.field !== "email"
          ? condition
          : { ...condition, value: (Array.isArray(condition.value) ? condition.value.map(fold) : fold(condition.value)) as typeof condition.value },
      );
      const profiles = [...context.account.profiles.values()].filter((profile) =>
        conditions.every((condition) => {
          const actual = profile[condition.field as keyof typeof profile];
          return matches(condition, condition.field === "email" ? fold(actual) : actual);
        }),
      );
      const sorted = sortBy(profiles, context.query.sort, (profile, field) => profile[field as "email"] ?? null);
      const { slice, links } = paged(sorted, context);
      return { status: 200, body: { data: slice.map((profile) => withSubscriptions(context, profile)), links } };
    },
  },
  ...(["add_profiles_to_list", "remove_profiles_from_list"] as const).map(
    (id): SimOperation => ({
      id,
      method: id === "add_profiles_to_list" ? "POST" : "DELETE",
      path: "/api/lists/{id}/relationships/profiles",
      scopes: ["lists:write", "profiles:write"],
      burstPerSecond: 10,
      steadyPerMinute: 150,
      query: {},
      body: listMembersQuery,
      maxBodyBytes: JSON_BODY_LIMIT,
      handle(context) {
        const { data } = context.body as ListMembersBody;
        const list = context.account.lists.get(context.pathParams.id!);
        if (!list) throw new SimHttpError(404, "not_found", `A list with id ${context.pathParams.id} does not exist.`);
        if (data.length > 1000) throw invalid("At most 1000 profiles can be sent per call.", { pointer: "/data" });
        data.forEach((item, index) => {
          if (!context.account.profiles.has(item.id)) {
            throw new SimHttpError(404, "not_found", `A profile with id ${item.id} does not exist.`, { pointer: `/data/${index}/id` });
          }
        });
        for (const item of data) {
          if (id === "add_profiles_to_list") list.members.add(item.id);
          else list.members.delete(item.id);
        }
        return { status: 204 };
      },
    }),
  ),
  {
    id: "get_lists",
    method: "GET",
    path: "/api/lists",
    scopes: ["lists:read"],
    burstPerSecond: 75,
    steadyPerMinute: 750,
    query: {
      fields: { list: LIST_FIELDS, flow: FLOW_FIELDS, tag: ["id", "name"] },
      include: ["flow-triggers", "tags"],
      sort: ["created", "-created", "id", "-id", "name", "-name", "updated", "-updated"],
      pageSize: { min: 1, max: 10, default: 10 },
      filter: {
        name: { list: ["any", "equals"] },
        id: { list: ["any", "equals"], single: ["equals"] },
        created: { single: ["greater-than"], value: "date-time" },
        updated: { single: ["greater-than"], value: "date-time" },
      },
    },
    handle(context) {
      const lists = [...context.account.lists.values()].filter((list) =>
        context.query.filter.every((condition) => matches(condition, list[condition.field as "name"])),
      );
      const sorted = sortBy(lists, context.query.sort, (list, field) => list[field as "name"] ?? null);
      const { slice, links } = paged(sorted, context);
      return { status: 200, body: { data: slice.map((list) => listResource(list, context.base)), links } };
    },
  },
  {
    id: "create_event",
    method: "POST",
    path: "/api/events",
    scopes: ["events:write"],
    burstPerSecond: 350,
    steadyPerMinute: 3500,
    query: {},
    body: eventCreateQuery,
    maxBodyBytes: JSON_BODY_LIMIT,
    handle(context) {
      const { attributes } = (context.body as EventCreateBody).data;
      const time = checkEvent(attributes, "/data/attributes");
      const { meta, ...profileAttributes } = attributes.profile.data.attributes;
      const outcome = context.account.recordEvent({
        profile: { id: attributes.profile.data.id, attributes: profileAttributes, meta },
        metricName: attributes.metric.data.attributes.name,
        properties: attributes.properties,
        time,
        value: attributes.value ?? null,
        valueCurrency: attributes.value_currency ?? null,
        uniqueId: attributes.unique_id ?? null,
        backfill: attributes.backfill ?? false,
        pointerBase: "/data/attributes/profile/data/attributes",
      });
      if (outcome.kind !== "ok") throwProfileProblem(outcome);
      return { status: 202, headers: partialFailureHeader(outcome.partialFailure) };
    },
  },
  {
    id: "get_events",
    method: "GET",
    path: "/api/events",
    scopes: ["events:read"],
    burstPerSecond: 350,
    steadyPerMinute: 3500,
    query: {
      fields: { attribution: ["id"], event: ["datetime", "event_properties", "id", "timestamp", "uuid"], metric: METRIC_FIELDS, profile: PROFILE_FIELDS },
      include: ["attributions", "metric", "profile"],
      sort: ["datetime", "-datetime", "timestamp", "-timestamp"],
      pageSize: { min: 1, max: 1000, default: 200 },
      filter: {
        metric_id: { single: ["equals"], list: ["equals"] },
        profile_id: { single: ["equals"] },
        profile: { none: ["has"] },
        metric: { none: ["has"] },
        datetime: { single: DATE_RANGE, value: "date-time" },
        timestamp: { single: DATE_RANGE, value: "number" },
      },
    },
    handle(context) {
      const value = (event: SimEvent, field: string): unknown =>
        ({ metric_id: event.metricId, profile_id: event.profileId, profile: event.profileId, metric: event.metricId, datetime: event.datetime, timestamp: event.timestamp })[field];
      const events = context.account.events.filter((event) => context.query.filter.every((condition) => matches(condition, value(event, condition.field))));
      const sorted = sortBy(events, context.query.sort ?? "datetime", (event, field) => (field === "datetime" ? Date.parse(event.datetime) : event.timestamp));
      const { slice, links } = paged(sorted, context);
      const included: unknown[] = [];
      if (context.query.include.includes("profile")) {
        for (const id of new Set(slice.map((event) => event.profileId))) {
          const profile = context.account.profiles.get(id);
          if (profile) included.push(profileResource(profile, context.base));
        }
      }
      if (context.query.include.includes("metric")) {
        for (const id of new Set(slice.map((event) => event.metricId))) {
          const metric = context.account.metrics.get(id);
          if (metric) included.push(metricResource(metric, context.base));
        }
      }
      return {
        status: 200,
        body: { data: slice.map((event) => eventResource(event, context.base)), links, ...(context.query.include.length > 0 && { included }) },
      };
    },
  },
  {
    id: "get_metrics",
    method: "GET",
    path: "/api/metrics",
    scopes: ["metrics:read"],
    burstPerSecond: 10,
    steadyPerMinute: 150,
    query: {
      fields: { metric: METRIC_FIELDS, flow: FLOW_FIELDS },
      include: ["flow-triggers"],
      pageLength: 200,
      filter: { "integration.name": { single: ["equals"] }, "integration.category": { single: ["equals"] } },
    },
    handle(context) {
      const metrics = [...context.account.metrics.values()].filter((metric) =>
        context.query.filter.every((condition) =>
          matches(condition, condition.field === "integration.name" ? metric.integration.name : metric.integration.category),
        ),
      );
      const { slice, links } = paged(metrics, context);
      return { status: 200, body: { data: slice.map((metric) => metricResource(metric, context.base)), links } };
    },
  },
  ...webhookOperations(),
  {
    id: "get_accounts",
    method: "GET",
    path: "/api/accounts",
    scopes: ["accounts:read"],
    burstPerSecond: 1,
    steadyPerMinute: 15,
    query: { fields: { account: ACCOUNT_FIELDS } },
    handle(context) {
      return { status: 200, body: { data: [accountResource(context.account, context.base)], links: { self: `${context.base}/api/accounts` } } };
    },
  },
  {
    id: "bulk_import_profiles",
    method: "POST",
    path: "/api/profile-bulk-import-jobs",
    scopes: ["lists:write", "profiles:write"],
    burstPerSecond: 10,
    steadyPerMinute: 150,
    query: { fields: { "profile-bulk-import-job": JOB_FIELDS } },
    body: profileImportJobCreateQuery,
    maxBodyBytes: JSON_BODY_LIMIT,
    handle(context) {
      const { data } = context.body as ProfileImportJobBody;
      const profiles = data.attributes.profiles.data;
      if (profiles.length === 0 || profiles.length > 10_000) {
        throw invalid("A bulk import job takes from 1 to 10,000 profiles.", { pointer: "/data/attributes/profiles/data" });
      }
      profiles.forEach((profile, index) => {
        if (Buffer.byteLength(JSON.stringify(profile)) > 100 * 1024) {
          throw invalid("A profile cannot be larger than 100 KB.", { pointer: `/data/attributes/profiles/data/${index}` });
        }
      });
      const lists = (data.relationships?.lists?.data ?? []).map((reference, index) => {
        const list = context.account.lists.get(reference.id);
        if (!list) throw new SimHttpError(404, "not_found", `A list with id ${reference.id} does not exist.`, { pointer: `/data/relationships/lists/data/${index}/id` });
        return list;
      });
      const createdAt = new Date();
      const job: SimImportJob = {
        id: newUlid(),
        status: "queued",
        totalCount: profiles.length,
        completedCount: 0,
        failedCount: 0,
        createdAt: createdAt.toISOString(),
        startedAt: null,
        completedAt: null,
        expiresAt: new Date(createdAt.getTime() + 7 * 24 * 3600 * 1000).toISOString(),
      };
      context.account.importJobs.set(job.id, job);
      // queued -> processing -> complete, one job delay apart; the profiles land at completion.
      context.later(() => {
        job.status = "processing";
        job.startedAt = new Date().toISOString();
      }, 1);
      context.later(() => {
        for (const profile of profiles) {
          const outcome = context.account.upsert({ id: profile.id, attributes: profile.attributes, meta: profile.meta });
          if (outcome.kind !== "ok") {
            job.failedCount++;
            continue;
          }
          job.completedCount++;
          for (const list of lists) list.members.add(outcome.profile.id);
        }
        job.status = "complete";
        job.completedAt = new Date().toISOString();
      }, 2);
      return { status: 202, body: { data: importJobResource(job, context.base), links: { self: `${context.base}/api/profile-bulk-import-jobs` } } };
    },
  },
  {
    id: "get_bulk_import_profiles_job",
    method: "GET",
    path: "/api/profile-bulk-import-jobs/{job_id}",
    scopes: ["lists:read", "profiles:read"],
    burstPerSecond: 10,
    steadyPerMinute: 150,
    query: { fields: { list: LIST_FIELDS, "profile-bulk-import-job": JOB_FIELDS }, include: ["lists"] },
    handle(context) {
      const job = context.account.importJobs.get(context.pathParams.job_id!);
      if (!job) throw new SimHttpError(404, "not_found", `A bulk import job with id ${context.pathParams.job_id} does not exist.`);
      return { status: 200, body: { data: importJobResource(job, context.base), links: { self: `${context.base}${context.url.pathname}` } } };
    },
  },
  {
    id: "bulk_create_events",
    method: "POST",
    path: "/api/event-bulk-create-jobs",
    scopes: ["events:write"],
    burstPerSecond: 10,
    steadyPerMinute: 150,
    query: {},
    body: eventsBulkCreateJob,
    maxBodyBytes: JSON_BODY_LIMIT,
    handle(context) {
      const groups = (context.body as EventsBulkCreateBody).data.attributes["events-bulk-create"].data;
      const total = groups.reduce((sum, group) => sum + group.attributes.events.data.length, 0);
      if (total === 0 || total > 1000) {
        throw invalid("A bulk event job takes from 1 to 1,000 events.", { pointer: "/data/attributes/events-bulk-create/data" });
      }
      // "If a unique_id is repeated for the same profile and metric, the request will fail and no events will be processed."
      const seen = new Set<string>();
      const work = groups.flatMap((group, groupIndex) => {
        const profile: IncomingProfile = { id: group.attributes.profile.data.id, attributes: group.attributes.profile.data.attributes, meta: group.attributes.profile.data.meta };
        const identity = batchIdentity(profile);
        return group.attributes.events.data.map((event, eventIndex) => {
          const pointer = `/data/attributes/events-bulk-create/data/${groupIndex}/attributes/events/data/${eventIndex}/attributes`;
          const time = checkEvent(event.attributes, pointer);
          if (event.attributes.unique_id != null) {
            const key = JSON.stringify([identity, event.attributes.metric.data.attributes.name, event.attributes.unique_id]);
            if (seen.has(key)) {
              throw invalid(`unique_id '${event.attributes.unique_id}' is repeated for the same profile and metric; no events were processed.`, {
                pointer: `${pointer}/unique_id`,
              });
            }
            seen.add(key);
          }
          return { profile, event: event.attributes, time, backfill: event.attributes.backfill ?? group.attributes.backfill ?? false, pointer };
        });
      });
      context.later(() => {
        for (const item of work) {
          context.account.recordEvent({
            profile: item.profile,
            metricName: item.event.metric.data.attributes.name,
            properties: item.event.properties,
            time: item.time,
            value: item.event.value ?? null,
            valueCurrency: item.event.value_currency ?? null,
            uniqueId: item.event.unique_id ?? null,
            backfill: item.backfill,
            pointerBase: item.pointer,
          });
        }
      }, 1);
      return { status: 202 };
    },
  },
  requestProfileDeletion,
  bulkSubscribeProfiles,
  bulkUnsubscribeProfiles,
];

/** The operation for a method and path, with its path parameters; `allowed` lists methods of a known path. */
export function route(method: string, path: string): { operation: SimOperation; pathParams: Record<string, string> } | { allowed: string[] } | null {
  const allowed: string[] = [];
  for (const operation of SIM_OPERATIONS) {
    const names: string[] = [];
    const pattern = new RegExp(`^${operation.path.replace(/\{(\w+)\}/g, (_, name: string) => (names.push(name), "([^/]+)"))}$`);
    const match = pattern.exec(path);
    if (!match) continue;
    if (operation.method !== method) {
      allowed.push(operation.method);
      continue;
    }
    return { operation, pathParams: Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1]!)])) };
  }
  return allowed.length ? { allowed } : null;
}

function webhookResource(webhook: SimWebhook, base: string) {
  return {
    type: "webhook",
    id: webhook.id,
    attributes: { name: webhook.name, description: webhook.description, endpoint_url: webhook.endpointUrl, enabled: true, created_at: webhook.createdAt, updated_at: webhook.createdAt },
    links: { self: `${base}/api/webhooks/${webhook.id}` },
  };
}

/** Klaviyo's answer to an account without the Webhooks API (Advanced KDP and app partners only). */
function requireWebhooksApi(account: SimAccount): void {
  if (!account.webhooksApi) throw new SimHttpError(403, "permission_denied", "This account does not have access to the Webhooks API.");
}

function webhookOperations(): SimOperation[] {
  const limits = { burstPerSecond: 1, steadyPerMinute: 15 };
  const WEBHOOK_FIELDS = ["created_at", "description", "enabled", "endpoint_url", "id", "name", "updated_at"];
  return [
    {
      id: "get_webhooks",
      method: "GET",
      path: "/api/webhooks",
      scopes: ["webhooks:read"],
      ...limits,
      query: { fields: { webhook: WEBHOOK_FIELDS, "webhook-topic": ["id"] }, include: ["webhook-topics"] },
      handle(context) {
        requireWebhooksApi(context.account);
        return { status: 200, body: { data: [...context.account.webhooks.values()].map((webhook) => webhookResource(webhook, context.base)), links: { self: `${context.base}/api/webhooks` } } };
      },
    },
    {
      id: "create_webhook",
      method: "POST",
      path: "/api/webhooks",
      scopes: ["webhooks:write"],
      ...limits,
      query: {},
      body: webhookCreateQuery,
      maxBodyBytes: JSON_BODY_LIMIT,
      handle(context) {
        requireWebhooksApi(context.account);
        const { data } = context.body as WebhookCreateBody;
        if (!/^https:\/\//.test(data.attributes.endpoint_url)) throw invalid("The endpoint url must be https.", { pointer: "/data/attributes/endpoint_url" });
        const topics = data.relationships["webhook-topics"].data.map((topic) => topic.id);
        topics.forEach((topic, index) => {
          if (!/^event:klaviyo\.[a-z_]+$/.test(topic)) throw invalid(`Unknown webhook topic ${topic}.`, { pointer: `/data/relationships/webhook-topics/data/${index}/id` });
        });
        const webhook: SimWebhook = {
          id: newShortId(),
          name: data.attributes.name,
          description: data.attributes.description ?? null,
          endpointUrl: data.attributes.endpoint_url,
          secretKey: data.attributes.secret_key,
          topics,
          createdAt: new Date().toISOString(),
        };
        context.account.webhooks.set(webhook.id, webhook);
        return { status: 201, body: { data: webhookResource(webhook, context.base) } };
      },
    },
    {
      id: "delete_webhook",
      method: "DELETE",
      path: "/api/webhooks/{id}",
      scopes: ["webhooks:write"],
      ...limits,
      query: {},
      handle(context) {
        requireWebhooksApi(context.account);
        if (!context.account.webhooks.delete(context.pathParams.id!)) throw new SimHttpError(404, "not_found", `A webhook with id ${context.pathParams.id} does not exist.`);
        return { status: 204 };
      },
    },
  ];
}
