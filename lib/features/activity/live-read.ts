// The deal-card pane's live read: when the pane opens (or refreshes itself), the profile's newest
// email events come straight from Klaviyo (GET /api/events filtered by the profile, newest first,
// one request; events of other metrics are dropped here, since Klaviyo filters by one metric at a
// time), are stored like the poll's (so the note writer sees them too) and shown at once.
//
// Bounded cost: one read per profile per LIVE_READ_CLAIM_MS whoever opens the deal (a claim row),
// under the account's Klaviyo rate limit like every other call. Bounded wait: a read that takes
// longer than LIVE_READ_WAIT_MS (Klaviyo slow, or the account's budget spent) finishes in the
// background, and the pane answers from storage, saying when its data was last read.
import type { Account } from "@/lib/db/client";
import { db } from "@/lib/db/client";
import { claimProfileRead, lastProfileRead, profileReadFinished } from "@/lib/db/profile-activity-reads";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";
import { logger } from "@/lib/platform/log";
import { metricCursors } from "./cursors";
import { activityMetricNamed, type ActivityMetric } from "./note-text";
import { storeEmailEvents } from "./store";

/** People opening the same deal within this share one Klaviyo read. */
export const LIVE_READ_CLAIM_MS = 5_000;
/** The pane waits this long for Klaviyo, then answers from storage. */
export const LIVE_READ_WAIT_MS = 1_500;
/** Newest events read per profile: more than the pane shows, so other metrics do not crowd them out. */
export const LIVE_READ_PAGE_SIZE = 50;

export type LiveRead = {
  /** This answer includes a read from Klaviyo made for it (or for someone a moment earlier). */
  live: boolean;
  /** When this profile's events were last read from Klaviyo (by a pane or by the poll), or null. */
  readAt: Date | null;
};

/** The account's email metrics by Klaviyo metric id (looked up once per account, see cursors.ts). */
async function metricsById(account: Account, klaviyo: ReturnType<typeof klaviyoClientFor>): Promise<Map<string, ActivityMetric>> {
  const stored = await db().activityCursor.findMany({ where: { accountId: account.id }, select: { metricId: true, metricName: true } });
  const rows = stored.length > 0 ? stored : (await metricCursors(account, klaviyo)).map((cursor) => ({ metricId: cursor.metricId, metricName: cursor.metric }));
  const byId = new Map<string, ActivityMetric>();
  for (const row of rows) {
    const metric = activityMetricNamed(row.metricName);
    if (metric) byId.set(row.metricId, metric);
  }
  return byId;
}

async function readFromKlaviyo(account: Account, profileId: string): Promise<{ stored: number; at: Date }> {
  // Someone is waiting: no in-place retries; the next open or the poll tries again.
  const klaviyo = klaviyoClientFor(account, { timeoutMs: 5_000, maxRateLimitRetries: 0, maxTransientRetries: 0 });
  const metrics = await metricsById(account, klaviyo);
  const page = await klaviyo.getEvents({ profileId, sort: "-datetime", pageSize: LIVE_READ_PAGE_SIZE });
  const events = page.events.flatMap((event) => {
    const metric = event.metricId ? metrics.get(event.metricId) : undefined;
    return metric ? [{ id: event.id, metric, profileId: event.profileId ?? profileId, datetime: event.datetime, properties: event.properties }] : [];
  });
  const at = new Date();
  const stored = await storeEmailEvents(account.id, events);
  await profileReadFinished(account.id, profileId, at);
  return { stored, at };
}

/** Read the profile's newest events from Klaviyo when nobody did a moment ago, waiting at most LIVE_READ_WAIT_MS. */
export async function readProfileActivityLive(account: Account, profileId: string): Promise<LiveRead> {
  const polledAt = account.activityPolledAt;
  const newest = (...dates: (Date | null)[]) => dates.reduce<Date | null>((best, date) => (date && (!best || date > best) ? date : best), null);
  if (!account.klaviyoApiKeyEnc || account.paused || account.status !== "installed") return { live: false, readAt: polledAt };
  if (!(await claimProfileRead(account.id, profileId, LIVE_READ_CLAIM_MS))) {
    const last = await lastProfileRead(account.id, profileId);
    return { live: last !== null && Date.now() - last.getTime() < LIVE_READ_CLAIM_MS * 2, readAt: newest(last, polledAt) };
  }
  const read = readFromKlaviyo(account, profileId).catch((error: unknown) => {
    logger().info({ accountId: account.id, err: error }, "live read of a profile's email activity failed; the pane shows what is stored");
    return null;
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), LIVE_READ_WAIT_MS);
  });
  const result = await Promise.race([read, timeout]);
  clearTimeout(timer);
  if (result && result !== "late") return { live: true, readAt: newest(result.at, polledAt) };
  return { live: false, readAt: newest(await lastProfileRead(account.id, profileId), polledAt) };
}
