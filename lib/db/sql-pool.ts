// A small node-postgres pool for the statements that must share one transaction with a pg-boss
// insert (pg-boss accepts any `executeSql`, which a Prisma transaction cannot provide as cheaply).
import pg from "pg";
import type PgBoss from "pg-boss";
import { idNumber } from "./kommo-ids";

const globalCache = globalThis as unknown as { kommoSqlPool?: pg.Pool };

/** bigint columns (Kommo's ids, counts) as numbers, like the rest of the product carries them. */
export function getTypeParser(oid: number, format?: "text" | "binary") {
  if (oid === pg.types.builtins.INT8 && format !== "binary") return (value: string) => idNumber(value);
  return pg.types.getTypeParser(oid, format);
}

/** The connection of an `inTransaction` (the table modules of lib/db take it to join the transaction). */
export type SqlClient = Pick<pg.ClientBase, "query">;

export function sqlPool(): pg.Pool {
  if (!globalCache.kommoSqlPool) {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error("DATABASE_URL is not set");
    const pool = new pg.Pool({ connectionString, max: 5, application_name: "klaviyo-sync-kommo", types: { getTypeParser } });
    pool.on("error", () => {
      // An idle connection dropped; the next checkout opens a new one.
    });
    globalCache.kommoSqlPool = pool;
  }
  return globalCache.kommoSqlPool;
}

/** Run `work` in one transaction; `asBossDb` lets pg-boss write its job rows inside it. */
export async function inTransaction<T>(work: (client: pg.PoolClient, asBossDb: PgBoss.Db) => Promise<T>): Promise<T> {
  const client = await sqlPool().connect();
  const asBossDb: PgBoss.Db = { executeSql: (text, values) => client.query(text, values) };
  // A checked-out client has no listener of the pool's: a connection that drops between two
  // statements (a database restart) would emit 'error' to nobody, which ends the process. Heard
  // here, the transaction's next statement fails instead, and the connection is not reused.
  let broken = false;
  const onError = () => {
    broken = true;
  };
  client.on("error", onError);
  try {
    await client.query("BEGIN");
    const result = await work(client, asBossDb);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    // A connection that cannot even roll back is discarded rather than reused.
    await client.query("ROLLBACK").catch(() => (broken = true));
    throw error;
  } finally {
    client.removeListener("error", onError);
    client.release(broken);
  }
}

export async function closeSqlPool(): Promise<void> {
  const pool = globalCache.kommoSqlPool;
  globalCache.kommoSqlPool = undefined;
  await pool?.end();
}
