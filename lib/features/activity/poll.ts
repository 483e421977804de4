// The email-activity poll of one account (queue `activity-poll`, every KLAVIYO_ACTIVITY_POLL_SECONDS,
// to the second): each poll, when done, queues the account's next one at its due time (a chain per
// account, singletonKey = account id; the minute tick re-seeds a chain that broke). For each of the
// six email metrics, Klaviyo events since the metric's position, 1000 a page,
// oldest first; those of our deals' profiles are stored (the deal-card pane's cache), then noted
// on the deals in Kommo.
//
// Cost: one call per page per metric, whatever the events are; nothing per event. The position is
// re-read with a short overlap because Klaviyo may record an event a little after its time; events
// seen twice are the same row (by Klaviyo's event id), so the overlap costs a page, not a note.
import { z } from "zod";
import { db } from "@/lib/db/client";
import { defineJob, type JobContext } from "@/lib/jobs/define-job";
import { KlaviyoError, type KlaviyoClient } from "@/lib/integrations/klaviyo";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { logger } from "@/lib/platform/log";
import { getEnv } from "@/lib/platform/env";
import { readStoredSettings } from "@/lib/features/settings/settings";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";
import { advanceCursor, metricCursors, type MetricCursor } from "./cursors";
import { writePendingNotes } from "./notes";
import { storeEmailEvents } from "./store";
import { consentFromEmailEvents } from "@/lib/features/consent/from-activity";

export const PAGE_SIZE = 1000;
/** Events Klaviyo records late (up to this much after their time) are still found. */
export const OVERLAP_MS = 10 * 60_000;
/** Pages per metric per poll; a larger backlog continues at the next poll (the position moves on). */
export const MAX_PAGES_PER_METRIC = 50;

/** One job per account (singletonKey): new Klaviyo email events of the account's deals -> notes. */
export const activityPollJob = defineJob({
  name: "activity-poll",
  payload: z.object({ accountId: z.uuid() }),
  queue: { policy: "short", retryLimit: 3, retryDelay: 30, retryBackoff: true, expireInSeconds: 900 },
  // Polls wait on the network, not the CPU; accounts due in the same second must not queue behind each other.
  concurrency: 5,
  run: (payload, context) => runActivityPollJob(payload, context),
});

/**
 * Queue a poll of the account now, beside its scheduled one (a key just saved, a webhook delivery
 * to note). Its own singletonKey: the chain's waiting job must not swallow it. Two polls that
 * overlap are harmless (cursors only move forward, notes are claimed).
 */
export async function enqueueActivityPoll(accountId: string): Promise<void> {
  await activityPollJob.send({ accountId }, { singletonKey: `${accountId}:now` });
}

/** When the poll after one that started at `startedAt` is due: one interval later, or now when that passed. */
export function nextPollAt(startedAt: Date, now = new Date()): Date {
  return new Date(Math.max(now.getTime(), startedAt.getTime() + getEnv().KLAVIYO_ACTIVITY_POLL_SECONDS * 1000));
}

/** Queue the account's next scheduled poll; a no-op when one already waits (singletonKey). */
export async function scheduleActivityPoll(accountId: string, at: Date): Promise<void> {
  await activityPollJob.send({ accountId }, { singletonKey: accountId, startAfter: at });
}

export type PollResult = { pages: number; events: number; stored: number; notes: number; noteRequests: number };

async function pollMetric(accountId: string, klaviyo: KlaviyoClient, cursor: MetricCursor, result: PollResult): Promise<void> {
  const since = new Date((cursor.cursor ?? new Date()).getTime() - OVERLAP_MS);
  let newest: Date | null = null;
  let pageCursor: string | undefined;
  for (let page = 0; page < MAX_PAGES_PER_METRIC; page++) {
    const answer = await klaviyo.getEvents({ metricId: cursor.metricId, since, sinceInclusive: true, sort: "datetime", pageSize: PAGE_SIZE, cursor: pageCursor });
    result.pages++;
    result.events += answer.events.length;
    result.stored += await storeEmailEvents(
      accountId,
      answer.events.map((event) => ({ id: event.id, metric: cursor.metric, profileId: event.profileId, datetime: event.datetime, properties: event.properties })),
    );
    await consentFromEmailEvents(accountId, answer.events.map((event) => ({ metric: cursor.metric, profileId: event.profileId, datetime: event.datetime })));
    for (const event of answer.events) {
      const at = event.datetime ? new Date(event.datetime) : null;
      if (at && !Number.isNaN(at.getTime()) && (!newest || at > newest)) newest = at;
    }
    if (!answer.nextCursor) break;
    pageCursor = answer.nextCursor;
  }
  if (newest) await advanceCursor(cursor, newest);
}

/** One poll of one account. Accounts that cannot be polled (no key, not installed, paused) are left alone. */
export async function pollAccountActivity(accountId: string): Promise<PollResult | null> {
  const account = await db().account.findUnique({ where: { id: accountId } });
  if (!account || account.status !== "installed" || account.paused || !account.klaviyoApiKeyEnc) return null;
  const klaviyo = klaviyoClientFor(account);
  const result: PollResult = { pages: 0, events: 0, stored: 0, notes: 0, noteRequests: 0 };
  for (const cursor of await metricCursors(account, klaviyo)) await pollMetric(account.id, klaviyo, cursor, result);

  // The stored settings alone: the poll needs no stage mapping.
  if (readStoredSettings(account.settings).activityNotes) {
    const notes = await writePendingNotes(account.id, () => kommoClientFor(account.id), {
      onRefused: (error) => logger().warn({ accountId, err: error }, "Kommo refused a batch of activity notes; they are not retried"),
    });
    result.notes = notes.notes;
    result.noteRequests = notes.requests;
  }
  await db().account.update({ where: { id: account.id }, data: { activityPolledAt: new Date() } });
  return result;
}

async function runActivityPollJob({ accountId }: { accountId: string }, context: JobContext): Promise<void> {
  const startedAt = new Date();
  let pollable = true;
  try {
    const result = await pollAccountActivity(accountId);
    pollable = result !== null;
    if (result) context.log.info({ accountId, ...result }, "email activity polled");
  } catch (error) {
    // A key that stopped working is the admin's to fix; the next scheduled poll tries again.
    if (error instanceof KlaviyoError && !error.retryable) {
      context.log.warn({ accountId, err: error }, "email activity poll refused by Klaviyo");
      return;
    }
    throw error;
  } finally {
    // An account that cannot be polled ends its chain; saving a key (or the tick) starts it again.
    if (pollable) await scheduleActivityPoll(accountId, nextPollAt(startedAt));
  }
}
