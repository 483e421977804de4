// Klaviyo email events -> EmailActivity rows, for the profiles of our deals only. A large sender
// has millions of recipients and few of them are CRM contacts: events of other profiles are
// dropped here after one indexed query per page, so they cost pagination and nothing else.
import { db } from "@/lib/db/client";
import { profilesOfDeals } from "@/lib/db/deals";
import { campaignOf, subjectOf, type ActivityMetric } from "./note-text";

/** What the store needs of an event, from the Events API or a system webhook alike. */
export type IncomingEmailEvent = {
  id: string;
  metric: ActivityMetric;
  profileId: string | null;
  /** ISO 8601. */
  datetime: string | null;
  properties: Record<string, unknown>;
};

/** The subset of `profileIds` that belong to our deals (by the deal's profile or its contact's link). */
export async function knownProfiles(accountId: string, profileIds: string[]): Promise<Set<string>> {
  const unique = [...new Set(profileIds)];
  if (unique.length === 0) return new Set();
  const [ofDeals, links] = await Promise.all([
    profilesOfDeals(accountId, unique),
    db().klaviyoProfileLink.findMany({ where: { accountId, klaviyoProfileId: { in: unique } }, distinct: ["klaviyoProfileId"], select: { klaviyoProfileId: true } }),
  ]);
  return new Set([...ofDeals, ...links.map((link) => link.klaviyoProfileId)]);
}

/**
 * Keep the events of known profiles. Returns how many were new: an event seen before (the poll's
 * overlap window, a webhook and the poll both delivering it) is the same row, by Klaviyo's event id.
 */
export async function storeEmailEvents(accountId: string, events: IncomingEmailEvent[]): Promise<number> {
  const known = await knownProfiles(
    accountId,
    events.map((event) => event.profileId).filter((id): id is string => id !== null),
  );
  const rows = events
    .filter((event) => event.profileId !== null && known.has(event.profileId) && event.datetime && !Number.isNaN(Date.parse(event.datetime)))
    .map((event) => ({
      accountId,
      klaviyoEventId: event.id,
      klaviyoProfileId: event.profileId!,
      metricName: event.metric,
      occurredAt: new Date(event.datetime!),
      subject: subjectOf(event.properties),
      campaignOrFlow: campaignOf(event.properties),
    }));
  if (rows.length === 0) return 0;
  const { count } = await db().emailActivity.createMany({ data: rows, skipDuplicates: true });
  return count;
}
