// What the deal-card pane shows for one lead: what we last told Klaviyo about the deal, how its
// last syncs ended, and the Klaviyo email events of its contact, the newest read live from Klaviyo
// when the pane opens (activity/live-read.ts: one shared read per profile every few seconds, never
// a wait of more than a moment) merged with those the activity poller and webhooks stored.
import type { Account, SyncStatus } from "@/lib/db/client";
import { db } from "@/lib/db/client";
import { dealState } from "@/lib/db/deals";
import { hasPendingEvent } from "@/lib/db/inbound-events";
import { recentSyncsOfLead } from "@/lib/db/sync-log";
import { isSkipReason, type SkipReason } from "@/lib/outcomes";
import { readProfileActivityLive } from "@/lib/features/activity/live-read";
import { klaviyoListNames } from "./list-names";
import { contactConsent, type ContactConsent } from "@/lib/features/consent/record-status";

export const ACTIVITY_LIMIT = 20;
const HISTORY_LIMIT = 5;

export type EmailActivityKind = "received" | "opened" | "clicked" | "bounced" | "spam" | "unsubscribed" | "other";

/** Klaviyo's built-in email metrics, by the name Klaviyo gives them. */
const KIND_OF_METRIC: Record<string, EmailActivityKind> = {
  "Received Email": "received",
  "Opened Email": "opened",
  "Clicked Email": "clicked",
  "Bounced Email": "bounced",
  "Marked Email as Spam": "spam",
  "Unsubscribed": "unsubscribed",
  "Unsubscribed from List": "unsubscribed",
};

export const emailActivityKind = (metricName: string): EmailActivityKind => KIND_OF_METRIC[metricName] ?? "other";

export type SyncProblem = {
  /** SyncLog.errorCode of the last attempt: an error code, or the skip reason when it was skipped. */
  code: string;
  /** Why the deal was skipped ("other" for rows written before reasons had codes). */
  reason: SkipReason | "other" | null;
  /** The sync will be tried again by itself; false when a person must act (or a replay is due). */
  retryable: boolean;
  /** The sync job's own sentence (English), shown when the widget has no words of its own for the code. */
  message: string;
};

export type DealActivity = {
  leadId: number;
  /** The account's IANA time zone when we know it; the widget falls back to the user's. */
  timeZone: string | null;
  klaviyoConnected: boolean;
  /** needs_reauth: Kommo refused the integration's access (or it lapsed); nothing syncs until an admin reinstalls. */
  kommoAccess: "ok" | "needs_reauth";
  sync: {
    /** never: no sync of this deal has finished yet. */
    status: SyncStatus | "never";
    lastSyncedAt: string | null;
    lastAttemptAt: string | null;
    /** A change (or a Sync now) is recorded and waits for the sync job. */
    pending: boolean;
    problem: SyncProblem | null;
    history: { at: string; status: SyncStatus; trigger: string; errorCode: string | null }[];
  };
  profile: null | {
    id: string;
    email: string | null;
    url: string;
    /** crm_stage as we last sent it to Klaviyo. */
    stage: string | null;
    lists: { id: string; name: string | null }[];
  };
  /** How fresh `activity` is: read from Klaviyo for this answer, or as of `readAt` (null: never read). */
  activityFreshness: { live: boolean; readAt: string | null };
  /** The deal's contact's email consent as Klaviyo last reported it; null when unknown. */
  consent: ContactConsent | null;
  activity: {
    id: string;
    kind: EmailActivityKind;
    metric: string;
    subject: string | null;
    campaignOrFlow: string | null;
    occurredAt: string;
  }[];
};

export const klaviyoProfileUrl = (profileId: string) => `https://www.klaviyo.com/profile/${encodeURIComponent(profileId)}`;

export async function dealActivity(account: Account, leadId: number): Promise<DealActivity> {
  const [deal, logs] = await Promise.all([dealState(account.id, leadId), recentSyncsOfLead(account.id, leadId, HISTORY_LIMIT)]);
  // Waiting: a change that arrived after the last sync attempt started, so no job has looked at it
  // yet. (A change a job failed on for good also stays unprocessed, until someone fixes the cause;
  // that deal is not "waiting", its status says why.)
  const pending = await hasPendingEvent(account.id, leadId, logs[0]?.startedAt);

  // The deal row keeps the profile id once synced; before that the contact's link may know it.
  let profileId = deal?.klaviyoProfileId ?? null;
  if (!profileId && deal?.mainContactId) {
    const link = await db().klaviyoProfileLink.findUnique({
      where: { accountId_contactId: { accountId: account.id, contactId: deal.mainContactId } },
      select: { klaviyoProfileId: true },
    });
    profileId = link?.klaviyoProfileId ?? null;
  }

  const listIds = deal?.listIds ?? [];
  // Before the stored events are read, so that what Klaviyo has just recorded is among them.
  const freshness = profileId ? await readProfileActivityLive(account, profileId) : { live: false, readAt: null };
  const [events, listNames, consent] = await Promise.all([
    profileId
      ? db().emailActivity.findMany({
          where: { accountId: account.id, klaviyoProfileId: profileId },
          orderBy: [{ occurredAt: "desc" }, { id: "desc" }],
          take: ACTIVITY_LIMIT,
        })
      : Promise.resolve([]),
    profileId && listIds.length > 0 ? klaviyoListNames(account) : Promise.resolve(null),
    deal?.mainContactId ? contactConsent(account.id, deal.mainContactId) : Promise.resolve(null),
  ]);

  const latest = logs[0];
  const status = deal?.lastSyncStatus ?? "never";
  const failing = status !== "never" && status !== "ok";
  const code = latest?.errorCode ?? (status === "skipped" ? "skipped" : "internal");
  const problem: SyncProblem | null = failing
    ? {
        code,
        reason: status === "skipped" ? (isSkipReason(code) ? code : "other") : null,
        // The queue retries an attempt logged as "retrying"; "failed" has used its retries or needs a person.
        retryable: status === "retrying",
        message: deal?.lastError ?? latest?.error ?? "",
      }
    : null;

  return {
    leadId,
    timeZone: account.timezone ?? null,
    klaviyoConnected: account.klaviyoApiKeyEnc !== null,
    kommoAccess: account.status === "needs_reauth" ? "needs_reauth" : "ok",
    sync: {
      status,
      lastSyncedAt: deal?.lastSyncedAt?.toISOString() ?? null,
      lastAttemptAt: (latest?.finishedAt ?? latest?.createdAt)?.toISOString() ?? null,
      pending,
      problem,
      history: logs.map((log) => ({
        at: (log.finishedAt ?? log.createdAt).toISOString(),
        status: log.status,
        trigger: log.trigger,
        errorCode: log.errorCode,
      })),
    },
    profile: profileId
      ? {
          id: profileId,
          email: deal?.email ?? null,
          url: klaviyoProfileUrl(profileId),
          stage: deal?.stageName ?? null,
          lists: listIds.map((id) => ({ id, name: listNames?.get(id) ?? null })),
        }
      : null,
    activityFreshness: { live: freshness.live, readAt: freshness.readAt?.toISOString() ?? null },
    consent,
    activity: events.map((event) => ({
      id: event.klaviyoEventId,
      kind: emailActivityKind(event.metricName),
      metric: event.metricName,
      subject: event.subject,
      campaignOrFlow: event.campaignOrFlow,
      occurredAt: event.occurredAt.toISOString(),
    })),
  };
}
