// Stored email activity -> Kommo notes: one `service_message` note per Klaviyo event on each open
// deal of the contact, or, when none is open, on its most recently closed deal (the onboarding
// emails after a win matter to the account manager). Notes go 50 per request.
//
// Never twice: an activity is claimed (notedAt set) before its note is sent. A failure that shows
// Kommo stored nothing (rate limit, revoked access, the request never left) gives the claim back
// for the next poll; a failure that leaves it unknown (5xx, timeout) keeps it, because a missing
// note is better than the same note twice on a deal.
import { db } from "@/lib/db/client";
import { dealsOfProfiles as readDealsOfProfiles } from "@/lib/db/deals";
import type { KommoClient, NewLeadNote } from "@/lib/integrations/kommo/client";
import { MAX_WRITE_BATCH } from "@/lib/integrations/kommo/client";
import { KommoAccountUnavailableError, KommoApiError, KommoBlockedError, KommoRateLimitedError } from "@/lib/integrations/kommo/errors";
import { LOST_STATUS_ID, WON_STATUS_ID } from "@/lib/features/sync/mapping";
import { activityMetricNamed, activityNoteText } from "./note-text";

export const NOTE_SERVICE = "Klaviyo";
/** Activity older than this is not noted any more (e.g. stored while notes were switched off). */
export const NOTE_BACKLOG_MS = 72 * 3600 * 1000;
const BATCH = 500;

export type DealOfProfile = {
  leadId: number;
  statusId: number | null;
  /** When it was closed, or the best stand-in we have (its last sync). */
  closedAt: Date | null;
};

const isClosed = (statusId: number | null) => statusId === WON_STATUS_ID || statusId === LOST_STATUS_ID;

/** The deals a note goes on: every open one, else the one closed last. */
export function noteTargets(deals: DealOfProfile[]): number[] {
  const open = deals.filter((deal) => deal.statusId !== null && !isClosed(deal.statusId));
  if (open.length > 0) return open.map((deal) => deal.leadId).sort((a, b) => a - b);
  const closed = deals.filter((deal) => isClosed(deal.statusId));
  const last = closed.sort((a, b) => (b.closedAt?.getTime() ?? 0) - (a.closedAt?.getTime() ?? 0) || b.leadId - a.leadId)[0];
  return last ? [last.leadId] : [];
}

/** Live deals per profile: a deal belongs to the profile it was synced to and to its contact's link. */
async function dealsOfProfiles(accountId: string, profileIds: string[]): Promise<Map<string, DealOfProfile[]>> {
  const rows = await readDealsOfProfiles(accountId, profileIds);
  const byProfile = new Map<string, DealOfProfile[]>();
  for (const row of rows) {
    for (const profileId of new Set([row.dealProfile, row.linkProfile])) {
      if (!profileId) continue;
      byProfile.set(profileId, [...(byProfile.get(profileId) ?? []), { leadId: row.leadId, statusId: row.statusId, closedAt: row.closedAt }]);
    }
  }
  return byProfile;
}

/** Take the activities for noting; returns the ids this caller got (another poller may hold the rest). */
async function claim(ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  // Raw SQL: the update must say which rows it took (Prisma's updateMany returns only a count).
  const rows = await db().$queryRaw<{ id: string }[]>`
    UPDATE "EmailActivity" SET "notedAt" = now()
    WHERE "id" = ANY(${ids}::uuid[]) AND "notedAt" IS NULL
    RETURNING "id"`;
  return new Set(rows.map((row) => row.id));
}

async function release(ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db().emailActivity.updateMany({ where: { id: { in: ids } }, data: { notedAt: null } });
}

/** Kommo certainly did not store the notes of a request that failed like this. */
function nothingStored(error: unknown): boolean {
  if (error instanceof KommoRateLimitedError || error instanceof KommoBlockedError || error instanceof KommoAccountUnavailableError) return true;
  return error instanceof KommoApiError && (error.status === 401 || error.status === 402 || error.status === 403);
}

/** A refusal of the request itself (e.g. a lead deleted a moment ago): retrying the same batch cannot help. */
const refused = (error: unknown) => error instanceof KommoApiError && (error.status === 400 || error.status === 404 || error.status === 422);

export type NotesResult = { notes: number; requests: number; refusedBatches: number };

type PlannedNote = NewLeadNote & { activityId: string };

/**
 * Write the notes of every activity of the account not noted yet. `kommo` is asked for only when
 * there is something to write. Throws (for the job to retry) when Kommo cannot take notes now.
 */
export async function writePendingNotes(
  accountId: string,
  kommo: () => Promise<KommoClient>,
  options: { now?: Date; onRefused?: (error: unknown) => void } = {},
): Promise<NotesResult> {
  const now = options.now ?? new Date();
  const result: NotesResult = { notes: 0, requests: 0, refusedBatches: 0 };
  let client: KommoClient | undefined;
  // Notes speak the account's language and give times in its time zone (both read from Kommo);
  // read once there is a note to write (most polls have none).
  let locale: { language: string | null; timezone: string | null } | null | undefined;
  for (;;) {
    const pending = await db().emailActivity.findMany({
      where: { accountId, notedAt: null, createdAt: { gte: new Date(now.getTime() - NOTE_BACKLOG_MS) } },
      orderBy: [{ occurredAt: "asc" }, { id: "asc" }],
      take: BATCH,
    });
    if (pending.length === 0) return result;
    locale ??= await db().account.findUnique({ where: { id: accountId }, select: { language: true, timezone: true } });

    const claimed = await claim(pending.map((activity) => activity.id));
    const mine = pending.filter((activity) => claimed.has(activity.id));
    const deals = await dealsOfProfiles(accountId, [...new Set(mine.map((activity) => activity.klaviyoProfileId))]);
    const planned: PlannedNote[] = [];
    for (const activity of mine) {
      const metric = activityMetricNamed(activity.metricName);
      if (!metric) continue;
      const text = activityNoteText({
        metric,
        subject: activity.subject,
        campaign: activity.campaignOrFlow,
        language: locale?.language,
        occurredAt: activity.occurredAt,
        timeZone: locale?.timezone,
      });
      // An activity of a profile whose deals are all gone stays claimed: there is nowhere to note it.
      for (const leadId of noteTargets(deals.get(activity.klaviyoProfileId) ?? [])) {
        planned.push({ activityId: activity.id, leadId, noteType: "service_message", service: NOTE_SERVICE, text });
      }
    }

    for (let start = 0; start < planned.length; start += MAX_WRITE_BATCH) {
      const batch = planned.slice(start, start + MAX_WRITE_BATCH);
      try {
        client ??= await kommo();
        result.requests++;
        await client.addLeadNotes(batch.map(({ activityId: _activity, ...note }) => note));
        result.notes += batch.length;
      } catch (error) {
        if (refused(error)) {
          result.refusedBatches++;
          options.onRefused?.(error);
          continue;
        }
        // What was not sent goes back; this batch too when Kommo certainly stored none of it.
        const unsent = planned.slice(nothingStored(error) ? start : start + MAX_WRITE_BATCH);
        const sentActivities = new Set(planned.slice(0, nothingStored(error) ? start : start + MAX_WRITE_BATCH).map((note) => note.activityId));
        await release([...new Set(unsent.map((note) => note.activityId))].filter((id) => !sentActivities.has(id)));
        throw error;
      }
    }
    if (pending.length < BATCH) return result;
  }
}
