// The state of one simulated Klaviyo account and the rules Klaviyo applies to it: upsert by
// identifier (201 new / 200 updated / 409 when identifiers belong to two profiles), list
// membership, metrics created on first use, and event de-duplication by (profile, metric, unique_id).
import { randomBytes, randomUUID } from "node:crypto";
import { isValidPhoneNumber } from "libphonenumber-js/max";

export type SimProfile = {
  id: string;
  email: string | null;
  phone_number: string | null;
  external_id: string | null;
  first_name: string | null;
  last_name: string | null;
  organization: string | null;
  locale: string | null;
  title: string | null;
  image: string | null;
  location: Record<string, unknown>;
  properties: Record<string, unknown>;
  created: string;
  updated: string;
};

export type SimList = {
  id: string;
  name: string;
  optInProcess: "double_opt_in" | "single_opt_in";
  created: string;
  updated: string;
  members: Set<string>;
};

export type SimMetric = {
  id: string;
  name: string;
  integration: { object: "integration"; id: string; name: string; category: string };
  created: string;
  updated: string;
};

export type SimEvent = {
  id: string;
  uuid: string;
  metricId: string;
  profileId: string;
  datetime: string;
  timestamp: number;
  properties: Record<string, unknown>;
  value: number | null;
  valueCurrency: string | null;
  uniqueId: string | null;
  backfill: boolean;
};

export type SimImportJob = {
  id: string;
  status: "queued" | "processing" | "complete" | "cancelled";
  totalCount: number;
  completedCount: number;
  failedCount: number;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  expiresAt: string;
};

/** Identifiers and attributes as they arrive in a request (profile-import, event profile, bulk item). */
export type IncomingProfile = {
  id?: string | null;
  attributes: Record<string, unknown>;
  meta?: { patch_properties?: { append?: Record<string, unknown> | null; unappend?: Record<string, unknown> | null; unset?: string | string[] | null } };
};

export type UpsertOutcome =
  | { kind: "ok"; profile: SimProfile; created: boolean; partialFailure: string[] }
  | { kind: "conflict"; duplicateProfileId: string }
  | { kind: "invalid"; pointer: string; detail: string }
  | { kind: "not_found"; detail: string };

export type EventOutcome = { kind: "ok"; recorded: boolean; partialFailure: string[] } | Exclude<UpsertOutcome, { kind: "ok" }>;

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomId(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("");
}

/** Profile and job ids look like Klaviyo's (ULID); list and metric ids are 6 characters. */
export const newUlid = () => `01${randomId(CROCKFORD, 24)}`;
export const newShortId = () => randomId(ALNUM, 6);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const IDENTIFIERS = ["email", "phone_number", "external_id"] as const;
const PRIMARY_ORDER = ["email", "external_id", "phone_number"] as const;
const PLAIN_ATTRIBUTES = ["first_name", "last_name", "organization", "locale", "title", "image"] as const;

/** Klaviyo's built-in email metrics, present in every account. */
export const BUILT_IN_METRICS = [
  "Received Email",
  "Opened Email",
  "Clicked Email",
  "Bounced Email",
  "Dropped Email",
  "Marked Email as Spam",
  "Unsubscribed",
  "Subscribed to List",
  "Unsubscribed from List",
];

const nowIso = () => new Date().toISOString();

export type SimWebhook = { id: string; name: string; description: string | null; endpointUrl: string; secretKey: string; topics: string[]; createdAt: string };

export class SimAccount {
  readonly profiles = new Map<string, SimProfile>();
  readonly lists = new Map<string, SimList>();
  readonly metrics = new Map<string, SimMetric>();
  readonly events: SimEvent[] = [];
  readonly importJobs = new Map<string, SimImportJob>();
  /** System webhooks (POST /api/webhooks), for accounts that have the Webhooks API. */
  readonly webhooks = new Map<string, SimWebhook>();
  /** Klaviyo offers the Webhooks API to Advanced KDP accounts and app partners only. */
  webhooksApi = false;
  private readonly eventKeys = new Set<string>();

  constructor(
    readonly id: string,
    readonly organizationName: string,
    readonly currency = "USD",
    readonly timezone = "America/New_York",
  ) {
    for (const name of BUILT_IN_METRICS) this.metricNamed(name, { name: "Klaviyo", category: "Internal" });
  }

  // ---- helpers for tests -------------------------------------------------------------------

  createList(name: string, optInProcess: SimList["optInProcess"] = "single_opt_in"): SimList {
    const created = nowIso();
    const list: SimList = { id: newShortId(), name, optInProcess, created, updated: created, members: new Set() };
    this.lists.set(list.id, list);
    return list;
  }

  profileByEmail(email: string): SimProfile | undefined {
    return this.findBy("email", email);
  }

  membersOf(listId: string): SimProfile[] {
    const list = this.lists.get(listId);
    return list ? [...list.members].map((id) => this.profiles.get(id)!).filter(Boolean) : [];
  }

  /** Events of one metric (by name), optionally for one email, oldest first. */
  eventsNamed(metricName: string, email?: string): SimEvent[] {
    const metric = [...this.metrics.values()].find((candidate) => candidate.name === metricName);
    if (!metric) return [];
    const profileId = email === undefined ? undefined : this.profileByEmail(email)?.id;
    return this.events.filter((event) => event.metricId === metric.id && (email === undefined || event.profileId === profileId));
  }

  /** Put an event in directly (e.g. email activity that Klaviyo itself would record). */
  seedEvent(input: { metric: string; email: string; datetime?: Date; properties?: Record<string, unknown> }): SimEvent {
    const outcome = this.upsert({ attributes: { email: input.email } });
    if (outcome.kind !== "ok") throw new Error(`cannot seed an event for ${input.email}: ${outcome.kind}`);
    const builtIn = BUILT_IN_METRICS.includes(input.metric);
    const metric = this.metricNamed(input.metric, builtIn ? { name: "Klaviyo", category: "Internal" } : undefined);
    const datetime = input.datetime ?? new Date();
    return this.pushEvent({
      metricId: metric.id,
      profileId: outcome.profile.id,
      datetime,
      properties: input.properties ?? {},
      value: null,
      valueCurrency: null,
      uniqueId: null,
      backfill: false,
    });
  }

  // ---- rules -------------------------------------------------------------------------------

  metricNamed(name: string, integration: { name: string; category: string } = { name: "API", category: "API" }): SimMetric {
    const existing = [...this.metrics.values()].find((metric) => metric.name === name);
    if (existing) return existing;
    const created = nowIso();
    const metric: SimMetric = {
      id: newShortId(),
      name,
      integration: { object: "integration", id: newShortId(), ...integration },
      created,
      updated: created,
    };
    this.metrics.set(metric.id, metric);
    return metric;
  }

  /**
   * Create or update a profile from identifiers and attributes. `null` clears, a missing key leaves
   * the value. An invalid phone next to another identifier is ignored and reported as a partial
   * failure (Klaviyo's behaviour since its phone validation change); alone it is an error.
   */
  upsert(incoming: IncomingProfile, pointerBase = "/data/attributes"): UpsertOutcome {
    const attributes = { ...incoming.attributes };
    const partialFailure: string[] = [];
    if (typeof attributes.email === "string" && !EMAIL.test(attributes.email)) {
      return { kind: "invalid", pointer: `${pointerBase}/email`, detail: `Invalid email address: '${attributes.email}'` };
    }
    if (typeof attributes.phone_number === "string" && !isE164(attributes.phone_number)) {
      const otherIdentifier = Boolean(attributes.email || attributes.external_id || incoming.id);
      if (!otherIdentifier) {
        return {
          kind: "invalid",
          pointer: `${pointerBase}/phone_number`,
          detail: "Invalid phone number format (Example of a valid format: +12345678901)",
        };
      }
      delete attributes.phone_number;
      partialFailure.push("phone_number");
    }

    let profile: SimProfile | undefined;
    if (incoming.id) {
      profile = this.profiles.get(incoming.id);
      const owner = typeof attributes.email === "string" ? this.findBy("email", attributes.email) : undefined;
      // Klaviyo answers a misleading 404 when the id and the email belong to different profiles.
      if (!profile || (owner && owner.id !== profile.id)) {
        return { kind: "not_found", detail: `A profile with id ${incoming.id} does not exist.` };
      }
    } else {
      // The email decides which profile this is (a new email is a new profile); any other identifier
      // already held by a different profile is a conflict: 409 duplicate_profile naming that profile.
      const present = PRIMARY_ORDER.filter((field) => typeof attributes[field] === "string" && attributes[field]);
      if (present.length === 0) {
        return { kind: "invalid", pointer: pointerBase, detail: "A profile identifier (email, phone_number or external_id) is required." };
      }
      profile = this.findBy(present[0]!, attributes[present[0]!] as string);
      for (const field of present.slice(1)) {
        const owner = this.findBy(field, attributes[field] as string);
        if (owner && owner !== profile) return { kind: "conflict", duplicateProfileId: owner.id };
      }
    }

    const created = !profile;
    const timestamp = nowIso();
    profile ??= {
      id: newUlid(),
      email: null,
      phone_number: null,
      external_id: null,
      first_name: null,
      last_name: null,
      organization: null,
      locale: null,
      title: null,
      image: null,
      location: {},
      properties: {},
      created: timestamp,
      updated: timestamp,
    };
    for (const field of [...IDENTIFIERS, ...PLAIN_ATTRIBUTES]) {
      if (field in attributes) profile[field] = (attributes[field] as string | null) ?? null;
    }
    if (attributes.location && typeof attributes.location === "object") Object.assign(profile.location, attributes.location);
    if (attributes.properties && typeof attributes.properties === "object") Object.assign(profile.properties, attributes.properties);
    const patch = incoming.meta?.patch_properties;
    if (patch?.unset) for (const key of [patch.unset].flat()) delete profile.properties[key];
    for (const [key, value] of Object.entries(patch?.append ?? {})) {
      const current = profile.properties[key];
      profile.properties[key] = [...(Array.isArray(current) ? current : current === undefined ? [] : [current]), ...[value].flat()];
    }
    for (const [key, value] of Object.entries(patch?.unappend ?? {})) {
      const current = profile.properties[key];
      if (Array.isArray(current)) profile.properties[key] = current.filter((item) => ![value].flat().includes(item));
    }
    profile.updated = timestamp;
    this.profiles.set(profile.id, profile);
    this.indexIdentifiers(profile);
    return { kind: "ok", profile, created, partialFailure };
  }

  /**
   * Record an event. "If the unique_id is repeated for the same profile and metric, only the first
   * processed event will be recorded"; without a unique_id the time to the second is the key.
   */
  recordEvent(input: {
    profile: IncomingProfile;
    metricName: string;
    properties: Record<string, unknown>;
    time: Date;
    value: number | null;
    valueCurrency: string | null;
    uniqueId: string | null;
    backfill: boolean;
    pointerBase: string;
  }): EventOutcome {
    const outcome = this.resolveEventProfile(input.profile, input.pointerBase);
    if (outcome.kind !== "ok") return outcome;
    const metric = this.metricNamed(input.metricName);
    const key = JSON.stringify([outcome.profile.id, metric.id, input.uniqueId ?? Math.floor(input.time.getTime() / 1000)]);
    if (this.eventKeys.has(key)) return { kind: "ok", recorded: false, partialFailure: outcome.partialFailure };
    this.eventKeys.add(key);
    this.pushEvent({
      metricId: metric.id,
      profileId: outcome.profile.id,
      datetime: input.time,
      properties: input.properties,
      value: input.value,
      valueCurrency: input.valueCurrency,
      uniqueId: input.uniqueId,
      backfill: input.backfill,
    });
    return { kind: "ok", recorded: true, partialFailure: outcome.partialFailure };
  }

  /** An event names its profile by id or identifiers; it may also update the profile's attributes. */
  private resolveEventProfile(incoming: IncomingProfile, pointerBase: string): UpsertOutcome {
    if (incoming.id && this.profiles.has(incoming.id) && Object.keys(incoming.attributes).length === 0) {
      return { kind: "ok", profile: this.profiles.get(incoming.id)!, created: false, partialFailure: [] };
    }
    const identifiers = ["email", "phone_number", "external_id", "anonymous_id", "_kx"];
    if (!incoming.id && !identifiers.some((field) => typeof incoming.attributes[field] === "string" && incoming.attributes[field])) {
      return { kind: "invalid", pointer: pointerBase, detail: "At least one profile identifier (id, email, phone_number, external_id ...) is required." };
    }
    const { anonymous_id: _anonymous, _kx: _exchange, ...attributes } = incoming.attributes;
    return this.upsert({ ...incoming, attributes }, pointerBase);
  }

  private pushEvent(input: Omit<SimEvent, "id" | "uuid" | "datetime" | "timestamp"> & { datetime: Date }): SimEvent {
    const seconds = Math.floor(input.datetime.getTime() / 1000);
    const event: SimEvent = {
      ...input,
      id: randomId(ALNUM, 12),
      uuid: randomUUID(),
      datetime: new Date(seconds * 1000).toISOString().replace(".000Z", "+00:00"),
      timestamp: seconds,
    };
    this.events.push(event);
    return event;
  }

  /**
   * The profile holding an identifier. An index per identifier keeps bulk imports of many thousand
   * profiles linear; an entry is checked against the profile itself, so one left behind by a
   * changed or deleted profile is never taken for a match.
   */
  private findBy(field: (typeof IDENTIFIERS)[number], value: string): SimProfile | undefined {
    const wanted = field === "email" ? value.trim().toLowerCase() : value.trim();
    const profile = this.profiles.get(this.identifierIndex[field].get(wanted) ?? "");
    const held = profile?.[field];
    return held !== null && held !== undefined && (field === "email" ? held.toLowerCase() : held) === wanted ? profile : undefined;
  }

  private readonly identifierIndex: Record<(typeof IDENTIFIERS)[number], Map<string, string>> = {
    email: new Map(),
    phone_number: new Map(),
    external_id: new Map(),
  };

  private indexIdentifiers(profile: SimProfile): void {
    for (const field of IDENTIFIERS) {
      const held = profile[field];
      if (held !== null) this.identifierIndex[field].set(field === "email" ? held.toLowerCase() : held, profile.id);
    }
  }
}

/** E.164: a plus, then a number that is valid for its country. */
export function isE164(phone: string): boolean {
  return /^\+[1-9]\d{6,14}$/.test(phone) && isValidPhoneNumber(phone);
}
