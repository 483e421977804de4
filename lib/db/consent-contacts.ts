// ConsentContact: per Kommo contact, the opt-in box as last seen and the Klaviyo email status
// wanted and written. Raw SQL for the one query Prisma cannot say: rows whose wanted status differs
// from the written one (a comparison of two columns, NULLs included).
import { db } from "./client";
import { idNumber } from "./kommo-ids";

export type PendingConsentWrite = { id: string; contactId: number; status: string | null; optInOffPending: boolean };

/** Contacts whose Kommo fields are behind: a status to write (when `withStatus`) or the box to turn off. */
export async function pendingConsentWrites(accountId: string, withStatus: boolean, limit: number): Promise<PendingConsentWrite[]> {
  const rows = await db().$queryRaw<{ id: string; contactId: bigint; status: string | null; optInOffPending: boolean }[]>`
    SELECT "id", "contactId", "status", "optInOffPending" FROM "ConsentContact"
    WHERE "accountId" = ${accountId}::uuid
      AND ("optInOffPending" OR (${withStatus} AND "status" IS NOT NULL AND "status" IS DISTINCT FROM "statusWritten"))
    ORDER BY "updatedAt" LIMIT ${limit}`;
  return rows.map((row) => ({ ...row, contactId: idNumber(row.contactId) }));
}
