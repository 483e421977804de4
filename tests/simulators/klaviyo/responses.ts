// Klaviyo's response shapes: the JSON:API error object and the resources the simulated operations
// return (PostProfileResponse, list / metric / event / account collections, import jobs).
import { randomUUID } from "node:crypto";
import type { SimAccount, SimEvent, SimImportJob, SimList, SimMetric, SimProfile } from "./store";

export type SimResponse = { status: number; body?: unknown; headers?: Record<string, string> };

export type ErrorSource = { pointer?: string; parameter?: string };

const TITLES: Record<number, string> = {
  400: "Invalid input.",
  401: "Authentication credentials were not provided.",
  403: "You do not have permission to perform this action.",
  404: "Not found.",
  405: "Method not allowed.",
  406: "Not acceptable.",
  409: "Conflict.",
  413: "Request entity too large.",
  415: "Unsupported media type.",
  429: "Request was throttled.",
  500: "A server error occurred.",
};

/** A request the simulator refuses, answered in Klaviyo's error shape. */
export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly source: ErrorSource = { pointer: "/data/" },
    readonly meta: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  toResponse(): SimResponse {
    return errorResponse(this.status, this.code, this.detail, this.source, this.meta, this.headers);
  }
}

export function errorResponse(
  status: number,
  code: string,
  detail: string,
  source: ErrorSource = { pointer: "/data/" },
  meta: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): SimResponse {
  return {
    status,
    headers,
    body: { errors: [{ id: randomUUID(), status, code, title: TITLES[status] ?? "Error.", detail, source, links: {}, meta }] },
  };
}

export const invalid = (detail: string, source: ErrorSource) => new SimHttpError(400, "invalid", detail, source);

export function profileResource(profile: SimProfile, base: string) {
  return {
    type: "profile",
    id: profile.id,
    attributes: {
      email: profile.email,
      phone_number: profile.phone_number,
      external_id: profile.external_id,
      first_name: profile.first_name,
      last_name: profile.last_name,
      organization: profile.organization,
      locale: profile.locale,
      title: profile.title,
      image: profile.image,
      created: profile.created,
      updated: profile.updated,
      last_event_date: null,
      location: profile.location,
      properties: profile.properties,
    },
    relationships: {
      lists: { links: { self: `${base}/api/profiles/${profile.id}/relationships/lists`, related: `${base}/api/profiles/${profile.id}/lists` } },
      segments: { links: { self: `${base}/api/profiles/${profile.id}/relationships/segments`, related: `${base}/api/profiles/${profile.id}/segments` } },
    },
    links: { self: `${base}/api/profiles/${profile.id}` },
  };
}

export function listResource(list: SimList, base: string) {
  return {
    type: "list",
    id: list.id,
    attributes: { name: list.name, created: list.created, updated: list.updated, opt_in_process: list.optInProcess },
    links: { self: `${base}/api/lists/${list.id}` },
  };
}

export function metricResource(metric: SimMetric, base: string) {
  return {
    type: "metric",
    id: metric.id,
    attributes: { name: metric.name, created: metric.created, updated: metric.updated, integration: metric.integration },
    links: { self: `${base}/api/metrics/${metric.id}` },
  };
}

export function eventResource(event: SimEvent, base: string) {
  return {
    type: "event",
    id: event.id,
    attributes: { timestamp: event.timestamp, event_properties: event.properties, datetime: event.datetime, uuid: event.uuid },
    relationships: {
      profile: {
        data: { type: "profile", id: event.profileId },
        links: { self: `${base}/api/events/${event.id}/relationships/profile`, related: `${base}/api/events/${event.id}/profile` },
      },
      metric: {
        data: { type: "metric", id: event.metricId },
        links: { self: `${base}/api/events/${event.id}/relationships/metric`, related: `${base}/api/events/${event.id}/metric` },
      },
    },
    links: { self: `${base}/api/events/${event.id}` },
  };
}

export function accountResource(account: SimAccount, base: string) {
  return {
    type: "account",
    id: account.id,
    attributes: {
      test_account: false,
      contact_information: {
        default_sender_name: account.organizationName,
        default_sender_email: "marketing@example.com",
        website_url: "https://example.com",
        organization_name: account.organizationName,
        street_address: { address1: "1 Main St", address2: null, city: "Boston", region: "MA", country: "US", zip: "02110" },
      },
      industry: null,
      timezone: account.timezone,
      preferred_currency: account.currency,
      public_api_key: account.id,
      locale: "en-US",
    },
    links: { self: `${base}/api/accounts/${account.id}` },
  };
}

export function importJobResource(job: SimImportJob, base: string) {
  return {
    type: "profile-bulk-import-job",
    id: job.id,
    attributes: {
      status: job.status,
      created_at: job.createdAt,
      total_count: job.totalCount,
      completed_count: job.completedCount,
      failed_count: job.failedCount,
      completed_at: job.completedAt,
      expires_at: job.expiresAt,
      started_at: job.startedAt,
    },
    links: { self: `${base}/api/profile-bulk-import-jobs/${job.id}` },
  };
}
