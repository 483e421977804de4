// Email-marketing consent of simulated profiles, as Klaviyo's spec (2026-07-15) describes it:
// `subscriptions.email.marketing` (consent, can_receive_email_marketing, suppression[]) returned
// only with `additional-fields[profile]=subscriptions`; bulk_subscribe_profiles (consent
// "SUBSCRIBED", optional list, removes UNSUBSCRIBE / SPAM_COMPLAINT / USER_SUPPRESSED suppressions)
// and bulk_unsubscribe_profiles ("Profiles not in the specified list will be globally
// unsubscribed"), both asynchronous (202).
import { z } from "zod";
import type { SimOperation } from "./operations";
import { invalid, SimHttpError } from "./responses";
import type { SimAccount, SimProfile } from "./store";

export type SuppressionReason = "HARD_BOUNCE" | "INVALID_EMAIL" | "SPAM_COMPLAINT" | "UNSUBSCRIBE" | "USER_SUPPRESSED";
export type EmailMarketingState = {
  consent: "SUBSCRIBED" | "NEVER_SUBSCRIBED" | "UNSUBSCRIBED";
  consentTimestamp: string | null;
  method: string | null;
  methodDetail: string | null;
  suppression: { reason: SuppressionReason; timestamp: string }[];
  listSuppressions: { list_id: string; reason: string; timestamp: string }[];
};

/** A subscribe or unsubscribe job as the account received it (for assertions). */
export type SubscriptionJob = {
  kind: "subscribe" | "unsubscribe";
  emails: string[];
  consent: string;
  listId: string | null;
  customSource: string | null;
  at: number;
};

const states = new WeakMap<SimProfile, EmailMarketingState>();
const jobs = new WeakMap<SimAccount, SubscriptionJob[]>();

export function emailMarketing(profile: SimProfile): EmailMarketingState {
  let state = states.get(profile);
  if (!state) states.set(profile, (state = { consent: "NEVER_SUBSCRIBED", consentTimestamp: null, method: null, methodDetail: null, suppression: [], listSuppressions: [] }));
  return state;
}

export function subscriptionJobs(account: SimAccount): SubscriptionJob[] {
  let list = jobs.get(account);
  if (!list) jobs.set(account, (list = []));
  return list;
}

/** The `subscriptions` attribute of a profile resource. */
export function subscriptionsAttribute(profile: SimProfile) {
  const state = emailMarketing(profile);
  return {
    email: {
      marketing: {
        can_receive_email_marketing: state.suppression.length === 0,
        consent: state.consent,
        consent_timestamp: state.consentTimestamp,
        last_updated: state.consentTimestamp,
        method: state.method,
        method_detail: state.methodDetail,
        custom_method_detail: null,
        double_optin: null,
        suppression: state.suppression,
        list_suppressions: state.listSuppressions,
      },
    },
  };
}

const now = () => new Date().toISOString();

/** A person unsubscribes through an email's link: consent, a global suppression and the Unsubscribed event. */
export function unsubscribeAsRecipient(account: SimAccount, email: string): SimProfile {
  const profile = account.profileByEmail(email);
  if (!profile) throw new Error(`simulator: no profile ${email}`);
  const state = emailMarketing(profile);
  Object.assign(state, { consent: "UNSUBSCRIBED", consentTimestamp: now(), method: "EMAIL_UNSUBSCRIBE", methodDetail: null });
  if (!state.suppression.some((entry) => entry.reason === "UNSUBSCRIBE")) state.suppression.push({ reason: "UNSUBSCRIBE", timestamp: now() });
  account.seedEvent({ metric: "Unsubscribed", email });
  return profile;
}

const listRelationship = z.strictObject({ list: z.strictObject({ data: z.strictObject({ type: z.literal("list"), id: z.string() }) }).optional() }).optional();

const subscribeQuery = z.strictObject({
  data: z.strictObject({
    type: z.literal("profile-subscription-bulk-create-job"),
    attributes: z.strictObject({
      custom_source: z.string().nullable().optional(),
      historical_import: z.boolean().nullable().optional(),
      profiles: z.strictObject({
        data: z.array(
          z.strictObject({
            type: z.literal("profile"),
            id: z.string().nullable().optional(),
            attributes: z.strictObject({
              email: z.string().nullable().optional(),
              phone_number: z.string().nullable().optional(),
              age_gated_date_of_birth: z.string().nullable().optional(),
              subscriptions: z.strictObject({
                email: z
                  .strictObject({ marketing: z.strictObject({ consent: z.literal("SUBSCRIBED"), consented_at: z.string().nullable().optional() }).nullable().optional() })
                  .nullable()
                  .optional(),
              }),
            }),
          }),
        ),
      }),
    }),
    relationships: listRelationship,
  }),
});

const unsubscribeQuery = z.strictObject({
  data: z.strictObject({
    type: z.literal("profile-subscription-bulk-delete-job"),
    attributes: z.strictObject({
      profiles: z.strictObject({
        data: z.array(
          z.strictObject({
            type: z.literal("profile"),
            attributes: z.strictObject({
              email: z.string().nullable().optional(),
              phone_number: z.string().nullable().optional(),
              subscriptions: z.strictObject({
                email: z.strictObject({ marketing: z.strictObject({ consent: z.literal("UNSUBSCRIBED") }).nullable().optional() }).nullable().optional(),
              }),
            }),
          }),
        ),
      }),
    }),
    relationships: listRelationship,
  }),
});

const SCOPES = ["lists:write", "profiles:write", "subscriptions:write"];
const LIFTED_BY_SUBSCRIBE = new Set(["UNSUBSCRIBE", "SPAM_COMPLAINT", "USER_SUPPRESSED"]);

function listOf(account: SimAccount, id: string | undefined) {
  if (id === undefined) return null;
  const list = account.lists.get(id);
  if (!list) throw new SimHttpError(404, "not_found", `A list with id ${id} does not exist.`, { pointer: "/data/relationships/list/data/id" });
  return list;
}

export const bulkSubscribeProfiles: SimOperation = {
  id: "bulk_subscribe_profiles",
  method: "POST",
  path: "/api/profile-subscription-bulk-create-jobs",
  scopes: SCOPES,
  burstPerSecond: 75,
  steadyPerMinute: 750,
  query: {},
  body: subscribeQuery,
  maxBodyBytes: 5 * 1024 * 1024,
  handle(context) {
    const { data } = context.body as z.infer<typeof subscribeQuery>;
    const profiles = data.attributes.profiles.data;
    if (profiles.length === 0 || profiles.length > 1000) throw invalid("A subscription job takes from 1 to 1,000 profiles.", { pointer: "/data/attributes/profiles/data" });
    const historical = data.attributes.historical_import === true;
    profiles.forEach((profile, index) => {
      const consentedAt = profile.attributes.subscriptions.email?.marketing?.consented_at;
      if (consentedAt != null && !historical) {
        throw invalid("consented_at may only be provided with historical_import.", { pointer: `/data/attributes/profiles/data/${index}/attributes/subscriptions/email/marketing/consented_at` });
      }
      if (!profile.attributes.email && !profile.attributes.phone_number && !profile.id) throw invalid("A profile identifier is required.", { pointer: `/data/attributes/profiles/data/${index}` });
    });
    const list = listOf(context.account, data.relationships?.list?.data.id);
    const emails = profiles.map((profile) => profile.attributes.email ?? "").filter(Boolean);
    subscriptionJobs(context.account).push({ kind: "subscribe", emails, consent: "SUBSCRIBED", listId: list?.id ?? null, customSource: data.attributes.custom_source ?? null, at: Date.now() });
    context.later(() => {
      for (const email of emails) {
        const outcome = context.account.upsert({ attributes: { email } });
        if (outcome.kind !== "ok") continue;
        const state = emailMarketing(outcome.profile);
        state.suppression = state.suppression.filter((entry) => !LIFTED_BY_SUBSCRIBE.has(entry.reason));
        // A double opt-in list asks the person first: consent and membership come with the confirmation.
        if (list?.optInProcess === "double_opt_in") continue;
        Object.assign(state, { consent: "SUBSCRIBED", consentTimestamp: now(), method: "API", methodDetail: data.attributes.custom_source ?? null });
        list?.members.add(outcome.profile.id);
      }
    }, 1);
    return { status: 202 };
  },
};

export const bulkUnsubscribeProfiles: SimOperation = {
  id: "bulk_unsubscribe_profiles",
  method: "POST",
  path: "/api/profile-subscription-bulk-delete-jobs",
  scopes: SCOPES,
  burstPerSecond: 75,
  steadyPerMinute: 750,
  query: {},
  body: unsubscribeQuery,
  maxBodyBytes: 5 * 1024 * 1024,
  handle(context) {
    const { data } = context.body as z.infer<typeof unsubscribeQuery>;
    const profiles = data.attributes.profiles.data;
    if (profiles.length === 0 || profiles.length > 100) throw invalid("An unsubscribe job takes from 1 to 100 profiles.", { pointer: "/data/attributes/profiles/data" });
    const list = listOf(context.account, data.relationships?.list?.data.id);
    const emails = profiles.map((profile) => profile.attributes.email ?? "").filter(Boolean);
    subscriptionJobs(context.account).push({ kind: "unsubscribe", emails, consent: "UNSUBSCRIBED", listId: list?.id ?? null, customSource: null, at: Date.now() });
    context.later(() => {
      for (const email of emails) {
        const profile = context.account.profileByEmail(email);
        if (!profile) continue;
        const state = emailMarketing(profile);
        // "Profiles not in the specified list will be globally unsubscribed."
        if (list && list.members.has(profile.id)) {
          list.members.delete(profile.id);
          state.listSuppressions.push({ list_id: list.id, reason: "USER_SUPPRESSED", timestamp: now() });
          continue;
        }
        Object.assign(state, { consent: "UNSUBSCRIBED", consentTimestamp: now(), method: "API", methodDetail: null });
        if (!state.suppression.some((entry) => entry.reason === "UNSUBSCRIBE")) state.suppression.push({ reason: "UNSUBSCRIBE", timestamp: now() });
      }
    }, 1);
    return { status: 202 };
  },
};
