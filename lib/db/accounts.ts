// Account reads on the sync's hot path. The rest of the product reads and writes accounts through
// Prisma; this one read runs before every sync, so it is plain SQL on the small pool.
import type { Account } from "./client";
import { sqlPool } from "./sql-pool";

/**
 * The account's row (every column, as Prisma names them; bigint ids as numbers through the pool's
 * type parser), or null when there is none.
 */
export async function accountById(accountId: string): Promise<Account | null> {
  const { rows } = await sqlPool().query<Account>(`SELECT * FROM "Account" WHERE "id" = $1::uuid`, [accountId]);
  return rows[0] ?? null;
}
