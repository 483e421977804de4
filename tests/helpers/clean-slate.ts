// Every integration test file starts from an empty database. What an earlier file left behind
// (installed accounts with Klaviyo keys, queued jobs, backfill runs waiting) would otherwise be
// picked up by this file's workers and sent to this file's simulators.
import pg from "pg";
import { beforeAll } from "vitest";

beforeAll(async () => {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`,
    );
    if (rows.length > 0) await client.query(`TRUNCATE ${rows.map((row) => `"${row.tablename}"`).join(", ")} CASCADE`);
    // The queues and their schedules stay (as `db:migrate` made them); their jobs go.
    await client.query(`DELETE FROM pgboss.job`);
  } finally {
    await client.end();
  }
});
