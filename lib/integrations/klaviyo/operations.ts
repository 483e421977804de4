// The Klaviyo operations this product calls, with the facts the client needs about each: route,
// the scopes a private key must carry (x-klaviyo-scopes) and the per-account rate limit
// (x-klaviyo-ratelimit), all as published in Klaviyo's OpenAPI spec, revision 2026-07-15.
import type { BucketLimit } from "@/lib/rate-limit";

export type KlaviyoScope =
  | "accounts:read"
  | "data-privacy:write"
  | "events:read"
  | "events:write"
  | "lists:read"
  | "lists:write"
  | "metrics:read"
  | "profiles:read"
  | "profiles:write"
  | "subscriptions:write"
  | "webhooks:read"
  | "webhooks:write";

export type KlaviyoOperation = {
  /** Klaviyo's operationId. */
  id: string;
  method: "GET" | "POST" | "DELETE";
  path: string;
  scopes: readonly KlaviyoScope[];
  /** Calls per second (fixed 1 s window) and per minute (fixed 60 s window). */
  burstPerSecond: number;
  steadyPerMinute: number;
  /** What the call does, for error messages ("… needed to create events"). */
  action: string;
};

const op = <T extends KlaviyoOperation>(operation: T) => operation;

export const OPERATIONS = {
  createOrUpdateProfile: op({
    id: "create_or_update_profile",
    method: "POST",
    path: "/api/profile-import",
    scopes: ["profiles:write"],
    burstPerSecond: 75,
    steadyPerMinute: 750,
    action: "create or update profiles",
  }),
  getProfiles: op({
    id: "get_profiles",
    method: "GET",
    path: "/api/profiles",
    scopes: ["profiles:read"],
    burstPerSecond: 75,
    steadyPerMinute: 750,
    action: "look up profiles",
  }),
  addProfilesToList: op({
    id: "add_profiles_to_list",
    method: "POST",
    path: "/api/lists/{id}/relationships/profiles",
    scopes: ["lists:write", "profiles:write"],
    burstPerSecond: 10,
    steadyPerMinute: 150,
    action: "add profiles to a list",
  }),
  removeProfilesFromList: op({
    id: "remove_profiles_from_list",
    method: "DELETE",
    path: "/api/lists/{id}/relationships/profiles",
    scopes: ["lists:write", "profiles:write"],
    burstPerSecond: 10,
    steadyPerMinute: 150,
    action: "remove profiles from a list",
  }),
  getLists: op({
    id: "get_lists",
    method: "GET",
    path: "/api/lists",
    scopes: ["lists:read"],
    burstPerSecond: 75,
    steadyPerMinute: 750,
    action: "read lists",
  }),
  createEvent: op({
    id: "create_event",
    method: "POST",
    path: "/api/events",
    scopes: ["events:write"],
    burstPerSecond: 350,
    steadyPerMinute: 3500,
    action: "create events",
  }),
  getEvents: op({
    id: "get_events",
    method: "GET",
    path: "/api/events",
    scopes: ["events:read"],
    burstPerSecond: 350,
    steadyPerMinute: 3500,
    action: "read events",
  }),
  getMetrics: op({
    id: "get_metrics",
    method: "GET",
    path: "/api/metrics",
    scopes: ["metrics:read"],
    burstPerSecond: 10,
    steadyPerMinute: 150,
    action: "read metrics",
  }),
  getWebhooks: op({
    id: "get_webhooks",
    method: "GET",
    path: "/api/webhooks",
    scopes: ["webhooks:read"],
    burstPerSecond: 1,
    steadyPerMinute: 15,
    action: "read the system webhooks",
  }),
  createWebhook: op({
    id: "create_webhook",
    method: "POST",
    path: "/api/webhooks",
    scopes: ["webhooks:write"],
    burstPerSecond: 1,
    steadyPerMinute: 15,
    action: "create a system webhook",
  }),
  deleteWebhook: op({
    id: "delete_webhook",
    method: "DELETE",
    path: "/api/webhooks/{id}",
    scopes: ["webhooks:write"],
    burstPerSecond: 1,
    steadyPerMinute: 15,
    action: "delete a system webhook",
  }),
  getAccounts: op({
    id: "get_accounts",
    method: "GET",
    path: "/api/accounts",
    scopes: ["accounts:read"],
    burstPerSecond: 1,
    steadyPerMinute: 15,
    action: "read the account",
  }),
  bulkImportProfiles: op({
    id: "bulk_import_profiles",
    method: "POST",
    path: "/api/profile-bulk-import-jobs",
    scopes: ["lists:write", "profiles:write"],
    burstPerSecond: 10,
    steadyPerMinute: 150,
    action: "start a bulk profile import",
  }),
  getBulkImportProfilesJob: op({
    id: "get_bulk_import_profiles_job",
    method: "GET",
    path: "/api/profile-bulk-import-jobs/{job_id}",
    scopes: ["lists:read", "profiles:read"],
    burstPerSecond: 10,
    steadyPerMinute: 150,
    action: "read a bulk profile import job",
  }),
  bulkCreateEvents: op({
    id: "bulk_create_events",
    method: "POST",
    path: "/api/event-bulk-create-jobs",
    scopes: ["events:write"],
    burstPerSecond: 10,
    steadyPerMinute: 150,
    action: "start a bulk event import",
  }),
  requestProfileDeletion: op({
    id: "request_profile_deletion",
    method: "POST",
    path: "/api/data-privacy-deletion-jobs",
    scopes: ["data-privacy:write"],
    burstPerSecond: 3,
    steadyPerMinute: 60,
    action: "request the deletion of a profile",
  }),
  /** The only calls that change consent; made only for an explicit opt-in or opt-out in Kommo. */
  bulkSubscribeProfiles: op({
    id: "bulk_subscribe_profiles",
    method: "POST",
    path: "/api/profile-subscription-bulk-create-jobs",
    scopes: ["lists:write", "profiles:write", "subscriptions:write"],
    burstPerSecond: 75,
    steadyPerMinute: 750,
    action: "subscribe profiles to email marketing",
  }),
  bulkUnsubscribeProfiles: op({
    id: "bulk_unsubscribe_profiles",
    method: "POST",
    path: "/api/profile-subscription-bulk-delete-jobs",
    scopes: ["lists:write", "profiles:write", "subscriptions:write"],
    burstPerSecond: 75,
    steadyPerMinute: 750,
    action: "unsubscribe profiles from email marketing",
  }),
} as const;

export type OperationName = keyof typeof OPERATIONS;

/**
 * Token buckets that keep a caller inside both of Klaviyo's fixed windows. A bucket of capacity C
 * refilling at r lets at most C + r·W calls through in any W-second window, so each bucket is sized
 * to make that sum equal the window's allowance (the sliding guarantee costs a little throughput
 * but means no 429 however the server's windows are aligned).
 */
export function bucketLimits(operation: KlaviyoOperation): BucketLimit[] {
  const perSecondCapacity = Math.max(1, Math.floor(operation.burstPerSecond / 2));
  const perMinuteCapacity = Math.max(1, Math.min(operation.burstPerSecond, Math.floor(operation.steadyPerMinute / 4)));
  return [
    { ratePerSecond: operation.burstPerSecond / 2, burst: perSecondCapacity },
    { ratePerSecond: (operation.steadyPerMinute - perMinuteCapacity) / 60, burst: perMinuteCapacity },
  ];
}

/** Klaviyo limits each endpoint per account, so the bucket is per (our account, operation). */
export function bucketKey(limiterId: string, operation: KlaviyoOperation): string {
  return `klaviyo:${limiterId}:${operation.id}`;
}
