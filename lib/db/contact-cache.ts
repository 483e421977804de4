// KommoContactCache reads on the sync's hot path (the writes are in lib/features/sync/contact-cache.ts,
// through Prisma: they happen only when a contact is read from Kommo).
import { sqlPool } from "./sql-pool";

/**
 * The cached snapshot of the contact, when read within `maxAgeMs`; undefined when there is no fresh
 * entry. Raw SQL on the small pool: a read of most syncs.
 */
export async function cachedContactSnapshot(accountId: string, contactId: number, maxAgeMs: number): Promise<unknown> {
  const { rows } = await sqlPool().query<{ snapshot: unknown }>(
    `SELECT "snapshot" FROM "KommoContactCache"
     WHERE "accountId" = $1::uuid AND "contactId" = $2 AND "readAt" > now() - make_interval(secs => $3::float8)`,
    [accountId, contactId, maxAgeMs / 1000],
  );
  return rows[0]?.snapshot;
}
