// ProfileActivityRead: the deal-card pane's live reads of a profile's email events, one row per
// profile, used as a short claim so that people opening the same deal at once share one Klaviyo
// call. Every statement on the table is in this module.
import { db } from "./client";

/**
 * Take the profile's read when nobody took it in the last `claimMs`. Raw SQL: the claim must be
 * one conditional upsert that says whether this caller got it (Prisma's upsert cannot).
 */
export async function claimProfileRead(accountId: string, profileId: string, claimMs: number): Promise<boolean> {
  const rows = await db().$queryRaw<{ claimed: boolean }[]>`
    INSERT INTO "ProfileActivityRead" ("accountId", "klaviyoProfileId", "claimedAt")
    VALUES (${accountId}::uuid, ${profileId}, now())
    ON CONFLICT ("accountId", "klaviyoProfileId") DO UPDATE SET "claimedAt" = now()
    WHERE "ProfileActivityRead"."claimedAt" < now() - make_interval(secs => ${claimMs / 1000})
    RETURNING true AS claimed`;
  return rows.length > 0;
}

export async function profileReadFinished(accountId: string, profileId: string, at: Date): Promise<void> {
  await db().profileActivityRead.update({ where: { accountId_klaviyoProfileId: { accountId, klaviyoProfileId: profileId } }, data: { readAt: at } });
}

/** When the profile's events were last read from Klaviyo by a pane, or null. */
export async function lastProfileRead(accountId: string, profileId: string): Promise<Date | null> {
  const row = await db().profileActivityRead.findUnique({ where: { accountId_klaviyoProfileId: { accountId, klaviyoProfileId: profileId } }, select: { readAt: true } });
  return row?.readAt ?? null;
}
