// KommoCompanyCache: a company's name as a sync last read it from Kommo. The webhook intake removes
// the rows of the companies a delivery reports changed; the sync reads and writes the rest.
import { db } from "./client";
import { sqlPool, type SqlClient } from "./sql-pool";

/**
 * The cached name, when read within `maxAgeMs`; undefined when there is no fresh entry. Raw SQL on
 * the small pool: a read of most syncs.
 */
export async function cachedCompanyName(accountId: string, companyId: number, maxAgeMs: number): Promise<{ name: string | null } | undefined> {
  const { rows } = await sqlPool().query<{ name: string | null }>(
    `SELECT "name" FROM "KommoCompanyCache"
     WHERE "accountId" = $1::uuid AND "companyId" = $2 AND "readAt" > now() - make_interval(secs => $3::float8)`,
    [accountId, companyId, maxAgeMs / 1000],
  );
  return rows[0];
}

export async function cacheCompanyName(accountId: string, companyId: number, name: string | null): Promise<void> {
  const readAt = new Date();
  await db().kommoCompanyCache.upsert({
    where: { accountId_companyId: { accountId, companyId } },
    create: { accountId, companyId, name, readAt },
    update: { name, readAt },
  });
}

/**
 * Forget these companies (changed or deleted in Kommo). Raw SQL: the webhook's hot path, on the
 * connection its recording transaction holds.
 */
export async function forgetCompanies(client: SqlClient, accountId: string, companyIds: number[]): Promise<void> {
  if (companyIds.length === 0) return;
  await client.query(`DELETE FROM "KommoCompanyCache" WHERE "accountId" = $1::uuid AND "companyId" = ANY($2::bigint[])`, [accountId, companyIds]);
}

/** Entries older than `maxAgeMs`: removed by the daily retention job. */
export function pruneCompanyCache(maxAgeMs: number, now = new Date()): Promise<{ count: number }> {
  return db().kommoCompanyCache.deleteMany({ where: { readAt: { lt: new Date(now.getTime() - maxAgeMs) } } });
}
