// The committed migration, applied by `npm run db:migrate`, enforces the data model's rules in the
// database itself: unique keys, foreign keys with cascades, checks.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { db, numberIds, Prisma } from "@/lib/db/client";

afterAll(async () => {
  await db().$disconnect();
});

let nextKommoId = 900_000;
function newAccount() {
  nextKommoId += 1;
  return db().account.create({
    data: { kommoAccountId: nextKommoId, subdomain: `acme${nextKommoId}`, host: `acme${nextKommoId}.kommo.com`, hookKey: randomBytes(24).toString("base64url") },
  });
}

function uniqueViolation(error: unknown) {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}

describe("database schema", () => {
  it("applied every committed migration", async () => {
    const rows = await db().$queryRaw<{ migration_name: string; finished_at: Date | null }[]>`
      SELECT migration_name, finished_at FROM _prisma_migrations`;
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.every((row) => row.finished_at !== null)).toBe(true);
  });

  it("keeps one account per Kommo account id and hook key", async () => {
    const account = await newAccount();
    await expect(
      db().account.create({ data: { kommoAccountId: account.kommoAccountId, subdomain: "x", host: "x.kommo.com", hookKey: randomBytes(24).toString("base64url") } }),
    ).rejects.toSatisfy(uniqueViolation);
    await expect(
      db().account.create({ data: { kommoAccountId: account.kommoAccountId + 500_000n, subdomain: "y", host: "y.kommo.com", hookKey: account.hookKey } }),
    ).rejects.toSatisfy(uniqueViolation);
  });

  it("refuses a short hook key and half a token pair", async () => {
    await expect(db().account.create({ data: { kommoAccountId: 1, subdomain: "s", host: "s.kommo.com", hookKey: "short" } })).rejects.toThrow(/Account_hookKey_length/);
    await expect(
      db().account.create({ data: { kommoAccountId: 2, subdomain: "s", host: "s.kommo.com", hookKey: randomBytes(24).toString("base64url"), accessTokenEnc: "v1.x" } }),
    ).rejects.toThrow(/Account_tokens_together/);
  });

  it("deduplicates inbound deliveries per account and lists stage mappings once per stage", async () => {
    const account = await newAccount();
    const event = { accountId: account.id, source: "kommo_webhook" as const, kind: "status_lead", leadId: 7, payload: {}, dedupeKey: "lead:7:1726572758" };
    await db().inboundEvent.create({ data: event });
    await expect(db().inboundEvent.create({ data: event })).rejects.toSatisfy(uniqueViolation);
    const mapping = { accountId: account.id, pipelineId: 7001, statusId: 142, listId: "LsWon1" };
    await db().stageListMapping.create({ data: mapping });
    await expect(db().stageListMapping.create({ data: { ...mapping, listId: "Other" } })).rejects.toSatisfy(uniqueViolation);
  });

  it("refuses rows that point at no account", async () => {
    await expect(
      db().deal.create({ data: { accountId: "00000000-0000-4000-8000-000000000000", leadId: 1 } }),
    ).rejects.toSatisfy((error: unknown) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2003");
  });

  it("removes everything of an account with it", async () => {
    const account = await newAccount();
    await db().deal.create({ data: { accountId: account.id, leadId: 1 } });
    await db().syncLog.create({ data: { accountId: account.id, leadId: 1, trigger: "status_lead", status: "ok" } });
    await db().klaviyoProfileLink.create({ data: { accountId: account.id, contactId: 5, email: "a@b.c", klaviyoProfileId: "01P" } });
    await db().backfillRun.create({ data: { accountId: account.id } });
    await db().account.delete({ where: { id: account.id } });
    const counts = await Promise.all([
      db().deal.count({ where: { accountId: account.id } }),
      db().syncLog.count({ where: { accountId: account.id } }),
      db().klaviyoProfileLink.count({ where: { accountId: account.id } }),
      db().backfillRun.count({ where: { accountId: account.id } }),
    ]);
    expect(counts).toEqual([0, 0, 0, 0]);
  });

  it("stores every time as an instant (timestamptz): raw SQL and the app agree whatever the session's time zone", async () => {
    const naive = await db().$queryRaw<{ table: string; column: string }[]>`
      SELECT table_name::text AS "table", column_name::text AS "column" FROM information_schema.columns
      WHERE table_schema = 'public' AND data_type = 'timestamp without time zone' AND table_name <> '_prisma_migrations'`;
    expect(naive).toEqual([]);

    const account = await newAccount();
    const at = new Date("2026-03-29T01:30:00.250Z");
    await db().syncLog.create({ data: { accountId: account.id, leadId: 1, trigger: "status_lead", status: "ok", createdAt: at } });
    expect((await db().syncLog.findFirstOrThrow({ where: { accountId: account.id } })).createdAt).toEqual(at);
    // A session far from UTC compares with now() and with the instants it is given, no correction needed.
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    try {
      await client.query(`SET TIME ZONE 'America/Los_Angeles'`);
      const { rows } = await client.query(
        `SELECT "createdAt" = $2::timestamptz AS exact, "createdAt" < now() AS past, "createdAt" FROM "SyncLog" WHERE "accountId" = $1::uuid`,
        [account.id, at.toISOString()],
      );
      expect(rows).toEqual([{ exact: true, past: true, createdAt: at }]);
    } finally {
      await client.end();
    }
  });

  it("keeps Kommo's ids in bigint columns: an id past 2^31 is stored and read back exactly", async () => {
    const narrow = await db().$queryRaw<{ table: string; column: string }[]>`
      SELECT table_name::text AS "table", column_name::text AS "column" FROM information_schema.columns
      WHERE table_schema = 'public' AND data_type IN ('integer', 'smallint') AND column_name ILIKE '%id'`;
    expect(narrow).toEqual([]);

    const big = 3_000_000_000;
    const account = await db().account.create({
      data: { kommoAccountId: Number.MAX_SAFE_INTEGER, subdomain: "big", host: "big.kommo.com", hookKey: randomBytes(24).toString("base64url"), kommoWebhookId: big },
    });
    await db().deal.create({ data: { accountId: account.id, leadId: big, pipelineId: big + 1, statusId: big + 2, mainContactId: big + 3 } });
    await db().inboundEvent.create({ data: { accountId: account.id, source: "kommo_webhook", kind: "status_lead", leadId: big, contactId: big + 3, payload: {}, dedupeKey: "big" } });
    await db().syncLog.create({ data: { accountId: account.id, leadId: big, trigger: "status_lead", status: "ok" } });
    await db().stageListMapping.create({ data: { accountId: account.id, pipelineId: big + 1, statusId: big + 2, listId: "LsBig" } });
    await db().klaviyoProfileLink.create({ data: { accountId: account.id, contactId: big + 3, email: "big@example.com", klaviyoProfileId: "01BIG" } });
    await db().kommoContactCache.create({ data: { accountId: account.id, contactId: big + 3, snapshot: {} } });
    expect(numberIds(await db().account.findUniqueOrThrow({ where: { id: account.id } }))).toMatchObject({ kommoAccountId: Number.MAX_SAFE_INTEGER, kommoWebhookId: big });
    expect(numberIds(await db().deal.findFirstOrThrow({ where: { accountId: account.id } }))).toMatchObject({ leadId: big, pipelineId: big + 1, statusId: big + 2, mainContactId: big + 3 });
    expect(numberIds(await db().inboundEvent.findFirstOrThrow({ where: { accountId: account.id } }))).toMatchObject({ leadId: big, contactId: big + 3 });
    expect(numberIds(await db().syncLog.findFirstOrThrow({ where: { accountId: account.id } }))).toMatchObject({ leadId: big });
    expect(numberIds(await db().stageListMapping.findFirstOrThrow({ where: { accountId: account.id } }))).toMatchObject({ pipelineId: big + 1, statusId: big + 2 });
    expect(numberIds(await db().klaviyoProfileLink.findFirstOrThrow({ where: { accountId: account.id } }))).toMatchObject({ contactId: big + 3 });
    expect(numberIds(await db().kommoContactCache.findFirstOrThrow({ where: { accountId: account.id } }))).toMatchObject({ contactId: big + 3 });
  });

  it("refuses negative backfill progress", async () => {
    const account = await newAccount();
    await expect(db().backfillRun.create({ data: { accountId: account.id, done: -1 } })).rejects.toThrow(/BackfillRun_counts_valid/);
  });
});
