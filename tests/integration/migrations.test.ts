// Committed migrations keep the data they change. A database is brought up to the migration before
// a change, filled with rows as the product wrote them, then taken forward by the remaining
// migrations (exactly their SQL, as `prisma migrate deploy` runs it) in a session whose time zone
// is not UTC; every value must read back as it was written.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPrismaClient, numberIds, type PrismaClient } from "@/lib/db/client";

const MIGRATIONS = path.resolve(__dirname, "..", "..", "prisma", "migrations");
const migrations = readdirSync(MIGRATIONS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** The migrations up to (not including) the first whose name ends with `suffix`, and the rest. */
function splitAt(suffix: string): [string[], string[]] {
  const index = migrations.findIndex((name) => name.endsWith(`_${suffix}`));
  if (index < 0) throw new Error(`no migration named *_${suffix}`);
  return [migrations.slice(0, index), migrations.slice(index)];
}

const adminUrl = inject("adminDatabaseUrl");
const name = `kss_migrations_${process.pid}_${Date.now().toString(36)}`;
const databaseUrl = (() => {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
})();

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

let client: pg.Client;
let prisma: PrismaClient | undefined;

beforeAll(async () => {
  await admin(`CREATE DATABASE "${name}"`);
  client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
});

afterAll(async () => {
  await prisma?.$disconnect();
  await client?.end();
  await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

async function apply(names: string[]) {
  for (const migration of names) await client.query(readFileSync(path.join(MIGRATIONS, migration, "migration.sql"), "utf8"));
}

const ACCOUNT = "6f1c2a8e-0d3b-4c55-9e1a-7b2f3c4d5e60";
const HOOK_KEY = "k".repeat(32);

/** One row in every table, as the product writes them (Prisma wrote UTC wall-clock time into timestamp(3)). */
async function seedEveryTable() {
  await client.query(`INSERT INTO "Account" ("id", "kommoAccountId", "subdomain", "host", "hookKey", "kommoWebhookId", "updatedAt")
                      VALUES ($1, 31001234, 'acme', 'acme.kommo.com', $2, 4321, '2026-01-01 00:00:00')`, [ACCOUNT, HOOK_KEY]);
  await client.query(`INSERT INTO "OAuthState" ("state", "expiresAt") VALUES ('state-1', '2026-01-01 00:00:00')`);
  await client.query(`INSERT INTO "StageListMapping" ("id", "accountId", "pipelineId", "statusId", "listId") VALUES (gen_random_uuid(), $1, 7001, 142, 'LsWon1')`, [ACCOUNT]);
  await client.query(`INSERT INTO "Deal" ("id", "accountId", "leadId", "pipelineId", "statusId", "mainContactId", "listIds", "updatedAt")
                      VALUES (gen_random_uuid(), $1, 21001234, 7001, 142, 31005678, ARRAY['LsWon1'], '2026-01-01 00:00:00')`, [ACCOUNT]);
  await client.query(`INSERT INTO "KlaviyoProfileLink" ("id", "accountId", "contactId", "email", "klaviyoProfileId", "updatedAt")
                      VALUES (gen_random_uuid(), $1, 31005678, 'ada@example.com', '01PROFILE', '2026-01-01 00:00:00')`, [ACCOUNT]);
  await client.query(`INSERT INTO "InboundEvent" ("id", "accountId", "source", "kind", "leadId", "contactId", "payload", "dedupeKey")
                      VALUES (gen_random_uuid(), $1, 'kommo_webhook', 'status_lead', 21001234, 31005678, '{}', 'key-1')`, [ACCOUNT]);
  await client.query(`INSERT INTO "SyncLog" ("id", "accountId", "leadId", "trigger", "status") VALUES (gen_random_uuid(), $1, 21001234, 'status_lead', 'ok')`, [ACCOUNT]);
  await client.query(`INSERT INTO "ActivityCursor" ("id", "accountId", "metricId", "metricName", "updatedAt")
                      VALUES (gen_random_uuid(), $1, 'M1', 'Opened Email', '2026-01-01 00:00:00')`, [ACCOUNT]);
  await client.query(`INSERT INTO "EmailActivity" ("id", "accountId", "klaviyoEventId", "klaviyoProfileId", "metricName", "occurredAt")
                      VALUES (gen_random_uuid(), $1, 'E1', '01PROFILE', 'Opened Email', '2026-01-01 00:00:00')`, [ACCOUNT]);
  await client.query(`INSERT INTO "BackfillRun" ("id", "accountId", "updatedAt") VALUES (gen_random_uuid(), $1, '2026-01-01 00:00:00')`, [ACCOUNT]);
  await client.query(`INSERT INTO "KommoContactCache" ("accountId", "contactId", "snapshot") VALUES ($1, 31005678, '{}')`, [ACCOUNT]);
}

type Column = { table: string; column: string };

async function columnsOfType(dataType: string): Promise<Column[]> {
  const { rows } = await client.query<{ table: string; column: string }>(
    `SELECT table_name AS table, column_name AS column FROM information_schema.columns
     WHERE table_schema = 'public' AND data_type = $1 ORDER BY 1, 2`,
    [dataType],
  );
  return rows;
}

describe("migration to timestamptz", () => {
  it("keeps every stored instant, whatever the time zone of the session that migrates", async () => {
    const [before, after] = splitAt("timestamptz");
    await apply(before);
    await seedEveryTable();

    // Every timestamp column gets its own value; 01:30 on 2026-03-29 is a local time that does not
    // exist in most of Europe (clocks go from 01:00 to 02:00), and this session runs far from UTC.
    const columns = await columnsOfType("timestamp without time zone");
    expect(columns.length).toBeGreaterThanOrEqual(30);
    const written = new Map<string, string>();
    for (const [index, { table, column }] of columns.entries()) {
      const value = `2026-03-29 01:${String(index).padStart(2, "0")}:07.${String(100 + index).slice(-3)}`;
      await client.query(`UPDATE "${table}" SET "${column}" = $1`, [value]);
      written.set(`${table}.${column}`, value);
    }
    expect((await client.query(`SELECT count(*)::int AS n FROM "Deal"`)).rows[0].n).toBe(1);

    await client.query(`SET TIME ZONE 'Asia/Kathmandu'`);
    await apply(after);
    await client.query(`RESET TIME ZONE`);

    expect(await columnsOfType("timestamp without time zone")).toEqual([]);
    for (const { table, column } of columns) {
      const { rows } = await client.query<{ utc: string }>(
        `SELECT to_char("${column}" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS utc FROM "${table}"`,
      );
      expect(rows.map((row) => row.utc), `${table}.${column}`).toEqual([written.get(`${table}.${column}`)]);
    }

    // And the app reads the same instants.
    prisma = createPrismaClient(databaseUrl, 1);
    const asInstant = (key: string) => `${written.get(key)!.replace(" ", "T")}Z`;
    const deal = await prisma.deal.findFirstOrThrow();
    expect(deal.lastSyncedAt?.toISOString()).toBe(asInstant("Deal.lastSyncedAt"));
    expect(deal.closedAt?.toISOString()).toBe(asInstant("Deal.closedAt"));
    const log = await prisma.syncLog.findFirstOrThrow();
    expect(log.createdAt.toISOString()).toBe(asInstant("SyncLog.createdAt"));
    const account = await prisma.account.findFirstOrThrow();
    expect(account.installedAt.toISOString()).toBe(asInstant("Account.installedAt"));
  });

  it("reads and writes instants through the app even where the server's default time zone is not UTC", async () => {
    await prisma?.$disconnect();
    await client.query(`ALTER DATABASE "${name}" SET TimeZone = 'America/Los_Angeles'`);
    prisma = createPrismaClient(databaseUrl, 1);
    const at = new Date("2026-07-01T23:30:00.500Z");
    const deal = await prisma.deal.findFirstOrThrow();
    await prisma.deal.update({ where: { id: deal.id }, data: { closedAt: at } });
    expect((await prisma.deal.findUniqueOrThrow({ where: { id: deal.id } })).closedAt).toEqual(at);
    const { rows } = await client.query(`SELECT "closedAt" = $1::timestamptz AS exact FROM "Deal" WHERE "id" = $2`, [at.toISOString(), deal.id]);
    expect(rows).toEqual([{ exact: true }]);
  });
});

describe("migration of Kommo's ids to bigint", () => {
  it("keeps every id, and the columns then take ids past 2^31", async () => {
    // The timestamptz test above seeded integer ids before that migration and took the database
    // through every later one, this one included: read them back through the app's client.
    prisma ??= createPrismaClient(databaseUrl, 1);
    const idColumns = (await columnsOfType("bigint")).map(({ table, column }) => `${table}.${column}`);
    expect(idColumns).toEqual(
      expect.arrayContaining([
        "Account.kommoAccountId",
        "Account.kommoWebhookId",
        "Deal.leadId",
        "Deal.mainContactId",
        "Deal.pipelineId",
        "Deal.statusId",
        "InboundEvent.contactId",
        "InboundEvent.leadId",
        "KlaviyoProfileLink.contactId",
        "KommoContactCache.contactId",
        "StageListMapping.pipelineId",
        "StageListMapping.statusId",
        "SyncLog.leadId",
      ]),
    );
    expect(numberIds(await prisma.account.findFirstOrThrow())).toMatchObject({ kommoAccountId: 31001234, kommoWebhookId: 4321 });
    expect(numberIds(await prisma.deal.findFirstOrThrow())).toMatchObject({ leadId: 21001234, pipelineId: 7001, statusId: 142, mainContactId: 31005678 });
    expect(numberIds(await prisma.inboundEvent.findFirstOrThrow())).toMatchObject({ leadId: 21001234, contactId: 31005678 });
    expect(numberIds(await prisma.syncLog.findFirstOrThrow())).toMatchObject({ leadId: 21001234 });
    expect(numberIds(await prisma.stageListMapping.findFirstOrThrow())).toMatchObject({ pipelineId: 7001, statusId: 142 });
    expect(numberIds(await prisma.klaviyoProfileLink.findFirstOrThrow())).toMatchObject({ contactId: 31005678 });
    expect(numberIds(await prisma.kommoContactCache.findFirstOrThrow())).toMatchObject({ contactId: 31005678 });
    // The unique keys that hold ids still hold.
    await expect(client.query(`INSERT INTO "Deal" ("id", "accountId", "leadId", "updatedAt") VALUES (gen_random_uuid(), $1, 21001234, now())`, [ACCOUNT])).rejects.toThrow(/Deal_accountId_leadId_key/);
    await client.query(`INSERT INTO "Deal" ("id", "accountId", "leadId", "updatedAt") VALUES (gen_random_uuid(), $1, 3000000000, now())`, [ACCOUNT]);
  });
});
