// The small node-postgres pool of the hot paths: a transaction whose connection the server drops
// between two statements (a database restart) fails, and the process and the pool carry on.
import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { closeSqlPool, inTransaction, sqlPool } from "@/lib/db/sql-pool";

afterAll(async () => {
  await closeSqlPool();
  await db().$disconnect();
});

describe("the small pool", () => {
  it("fails a transaction whose connection is dropped between statements, and goes on serving", async () => {
    await expect(
      inTransaction(async (client) => {
        const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        const ended = new Promise((resolve) => client.once("end", resolve));
        await db().$queryRaw`SELECT pg_terminate_backend(${rows[0]!.pid}::int)`;
        // The connection ends with no statement in flight on it.
        await ended;
        await client.query("SELECT 1");
      }),
    ).rejects.toThrow();
    const { rows } = await sqlPool().query<{ one: number }>("SELECT 1 AS one");
    expect(rows[0]!.one).toBe(1);
  });
});
