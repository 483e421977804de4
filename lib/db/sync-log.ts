// SyncLog: one row per sync attempt of a deal (what was done, how it ended, what it cost). Every
// statement on the table is in this module: the sync's write, a deal's history, the dashboard's
// pages, failures, counts and metrics, replay and dismiss, retention.
import { db, Prisma, type SyncLog, type SyncStatus } from "./client";
import { numberIds } from "./kommo-ids";
import type { SqlClient } from "./sql-pool";

type Tx = Prisma.TransactionClient;

/** A later ok or skipped sync of the same deal (row `s`) applied the changes a failure was carrying. */
const SUPERSEDED = `EXISTS (
  SELECT 1 FROM "SyncLog" later
  WHERE later."accountId" = s."accountId" AND later."leadId" = s."leadId"
    AND later."createdAt" > s."createdAt" AND later.status IN ('ok', 'skipped'))`;

/**
 * An open failure (row `s`): failed, nobody replayed or dismissed it, and no later sync of the deal
 * covered it. The dashboard's failure list, its counts and replay all mean this.
 */
const OPEN_FAILURE = `s.status = 'failed' AND s.resolution IS NULL AND NOT ${SUPERSEDED}`;

export type SyncAttempt = {
  accountId: string;
  leadId: number;
  trigger: string;
  status: SyncStatus;
  operations: Prisma.InputJsonValue;
  error: string | null;
  errorCode: string | null;
  attempt: number;
  jobId: string | null;
  kommoCalls: number;
  klaviyoCalls: number;
  startedAt: Date;
  finishedAt: Date;
};

/** The row of one finished sync attempt. */
export async function recordSyncAttempt(attempt: SyncAttempt, tx: Tx = db()): Promise<void> {
  await tx.syncLog.create({ data: { ...attempt, durationMs: attempt.finishedAt.getTime() - attempt.startedAt.getTime() } });
}

export type SyncAttemptRow = Pick<SyncLog, "id" | "status" | "trigger" | "error" | "errorCode" | "startedAt" | "finishedAt" | "createdAt">;

/** The newest attempts of one deal, newest first. */
export function recentSyncsOfLead(accountId: string, leadId: number, limit: number): Promise<SyncAttemptRow[]> {
  return db().syncLog.findMany({
    where: { accountId, leadId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit,
    select: { id: true, status: true, trigger: true, error: true, errorCode: true, startedAt: true, finishedAt: true, createdAt: true },
  });
}

// ---- The dashboard's log pages

export type SyncLogFilters = {
  status?: SyncStatus;
  leadId?: number;
  /** Inclusive lower and exclusive upper bound on when the row was written. */
  from?: Date;
  to?: Date;
  /** Only open failures (the dead-letter list). */
  openFailuresOnly?: boolean;
};

/** Where the previous page stopped: the last row's createdAt and id. */
export type SyncLogCursor = { createdAt: Date; id: string };

export type SyncLogRow = {
  id: string;
  leadId: number;
  trigger: string;
  status: SyncStatus;
  operations: unknown;
  error: string | null;
  errorCode: string | null;
  attempt: number;
  kommoCalls: number;
  klaviyoCalls: number;
  durationMs: number | null;
  resolution: string | null;
  resolvedAt: Date | null;
  createdAt: Date;
  /** The deal's contact e-mail and stage as last synced (null before its first sync). */
  email: string | null;
  stageName: string | null;
};

const instant = (date: Date) => Prisma.sql`${date.toISOString()}::timestamptz`;

/**
 * The statement behind a page, newest first, keyset-paginated on (createdAt DESC, id ASC): the order
 * of the index SyncLog(accountId, createdAt DESC, id), so a page deep in a million rows costs what
 * the first one costs. Exported so that tests can EXPLAIN exactly what the dashboard runs.
 */
export function syncLogPageQuery(accountId: string, filters: SyncLogFilters, cursor: SyncLogCursor | null, limit: number): Prisma.Sql {
  const conditions: Prisma.Sql[] = [Prisma.sql`s."accountId" = ${accountId}::uuid`];
  if (filters.openFailuresOnly) {
    conditions.push(Prisma.raw(OPEN_FAILURE));
  } else if (filters.status) {
    conditions.push(Prisma.sql`s.status = ${filters.status}::"SyncStatus"`);
  }
  if (filters.leadId !== undefined) conditions.push(Prisma.sql`s."leadId" = ${filters.leadId}`);
  if (filters.from) conditions.push(Prisma.sql`s."createdAt" >= ${instant(filters.from)}`);
  if (filters.to) conditions.push(Prisma.sql`s."createdAt" < ${instant(filters.to)}`);
  if (cursor) {
    // (createdAt < t) or (createdAt = t and id > cursor id), written so that `createdAt <= t`
    // bounds the index scan and the tie-break only filters rows of the same millisecond.
    conditions.push(Prisma.sql`s."createdAt" <= ${instant(cursor.createdAt)} AND (s."createdAt" < ${instant(cursor.createdAt)} OR s.id > ${cursor.id}::uuid)`);
  }
  return Prisma.sql`
    SELECT s.id, s."leadId", s.trigger, s.status::text AS status, s.operations, s.error, s."errorCode", s.attempt,
           s."kommoCalls", s."klaviyoCalls", s."durationMs", s.resolution, s."resolvedAt", s."createdAt",
           d.email, d."stageName"
    FROM "SyncLog" s
    LEFT JOIN "Deal" d ON d."accountId" = s."accountId" AND d."leadId" = s."leadId"
    WHERE ${Prisma.join(conditions, " AND ")}
    ORDER BY s."createdAt" DESC, s.id ASC
    LIMIT ${limit}`;
}

/** Up to `limit` rows of the account's log after `cursor`. */
export async function readSyncLogPage(accountId: string, filters: SyncLogFilters, cursor: SyncLogCursor | null, limit: number): Promise<SyncLogRow[]> {
  // Raw SQL: keyset pagination on a row-value order, with the deal's e-mail and stage joined (the
  // tables have no relation Prisma could follow).
  const rows = await db().$queryRaw<(Omit<SyncLogRow, "leadId"> & { leadId: bigint })[]>(syncLogPageQuery(accountId, filters, cursor, limit));
  return rows.map(numberIds);
}

// ---- Failures: replay and dismiss

/** Which open failures: these rows, those since a time, or (both null) all of them. */
export type FailureRows = { ids: string[] | null; since: Date | null };

/** The deals with an open failure among the selected rows. `client`: the caller's transaction. */
export async function leadsWithOpenFailures(client: SqlClient, accountId: string, rows: FailureRows): Promise<number[]> {
  // Raw SQL: a correlated NOT EXISTS over the same table (Prisma cannot say it), on the
  // node-postgres connection whose transaction also enqueues the replay through pg-boss.
  const { rows: found } = await client.query<{ leadId: number }>(
    `SELECT DISTINCT s."leadId" FROM "SyncLog" s
     WHERE s."accountId" = $1::uuid AND ${OPEN_FAILURE}
       AND ($2::uuid[] IS NULL OR s.id = ANY($2::uuid[])) AND ($3::timestamptz IS NULL OR s."createdAt" >= $3::timestamptz)`,
    [accountId, rows.ids, rows.since?.toISOString() ?? null],
  );
  return found.map((row) => row.leadId);
}

/** Mark every unresolved failure of these deals as dealt with ("replayed" or "dismissed"). */
export async function resolveFailures(client: SqlClient, accountId: string, leadIds: number[], resolution: "replayed" | "dismissed"): Promise<void> {
  if (leadIds.length === 0) return;
  // Raw SQL: it runs on the node-postgres connection of the caller's transaction, not Prisma's.
  await client.query(
    `UPDATE "SyncLog" SET resolution = $3, "resolvedAt" = now()
     WHERE "accountId" = $1::uuid AND "leadId" = ANY($2::bigint[]) AND status = 'failed' AND resolution IS NULL`,
    [accountId, leadIds, resolution],
  );
}

// ---- Account health and metrics

export type OutcomeCount = { accountId: string; status: SyncStatus; count: number };

/** Attempts per account and outcome since `since`. */
export async function syncOutcomeCounts(accountIds: string[], since: Date): Promise<OutcomeCount[]> {
  if (accountIds.length === 0) return [];
  const groups = await db().syncLog.groupBy({
    by: ["accountId", "status"],
    where: { accountId: { in: accountIds }, createdAt: { gte: since } },
    _count: { _all: true },
  });
  return groups.map((group) => ({ accountId: group.accountId, status: group.status, count: group._count._all }));
}

export type LastSyncTimes = { accountId: string; lastSyncAt: Date | null; lastOkAt: Date | null };

/** Per account: its newest attempt, and its newest successful one. */
export async function lastSyncTimes(accountIds: string[]): Promise<LastSyncTimes[]> {
  if (accountIds.length === 0) return [];
  // Raw SQL: one index probe per account and status on (accountId, status, createdAt DESC); a
  // GROUP BY max(), which is what Prisma would run, reads every row of a busy account.
  return db().$queryRaw<LastSyncTimes[]>`
    SELECT a.id AS "accountId",
      (SELECT max("createdAt") FROM "SyncLog" s WHERE s."accountId" = a.id) AS "lastSyncAt",
      (SELECT s."createdAt" FROM "SyncLog" s WHERE s."accountId" = a.id AND s.status = 'ok' ORDER BY s."createdAt" DESC LIMIT 1) AS "lastOkAt"
    FROM unnest(${accountIds}::uuid[]) AS a(id)`;
}

export type OpenFailureGroup = { accountId: string; errorCode: string | null; deals: number; lastAt: Date; example: string | null };

/** Open failures per account and cause: how many deals, the newest, and its message. Most deals first. */
export async function openFailureGroups(accountIds: string[]): Promise<OpenFailureGroup[]> {
  if (accountIds.length === 0) return [];
  // Raw SQL: the open-failure condition (a correlated NOT EXISTS) and the newest message per group.
  return db().$queryRaw<OpenFailureGroup[]>`
    SELECT s."accountId", s."errorCode", count(DISTINCT s."leadId")::int AS deals, max(s."createdAt") AS "lastAt",
      (array_agg(s.error ORDER BY s."createdAt" DESC))[1] AS example
    FROM "SyncLog" s
    WHERE s."accountId" = ANY(${accountIds}::uuid[]) AND ${Prisma.raw(OPEN_FAILURE)}
    GROUP BY 1, 2
    ORDER BY deals DESC`;
}

/** Deals of every account with an open failure. */
export async function countOpenFailureDeals(): Promise<number> {
  // Raw SQL: the open-failure condition (a correlated NOT EXISTS), counted in the database.
  const rows = await db().$queryRaw<{ deals: number }[]>`
    SELECT count(*)::int AS deals FROM (SELECT DISTINCT s."accountId", s."leadId" FROM "SyncLog" s WHERE ${Prisma.raw(OPEN_FAILURE)}) open`;
  return rows[0]?.deals ?? 0;
}

export type WindowRuns = {
  window: string;
  status: string;
  runs: number;
  kommo: number;
  klaviyo: number;
  /** Attempts whose error code is the one given for each API. */
  limitedKommo: number;
  limitedKlaviyo: number;
};
export type WindowQuantiles = { window: string; p50: number | null; p95: number | null; p99: number | null };

/** `windows`: name -> length in seconds, each ending now. */
const windowsSql = (windows: Record<string, number>) =>
  Prisma.sql`(VALUES ${Prisma.join(Object.entries(windows).map(([name, seconds]) => Prisma.sql`(${name}, ${seconds}::int)`))}) AS w(name, seconds)`;

/** Attempts per window and outcome, their API calls, and those that ended on the given error codes. */
export function syncRunsByWindow(windows: Record<string, number>, codes: { kommo: string; klaviyo: string }): Promise<WindowRuns[]> {
  // Raw SQL: every window in one pass over the newest rows (a VALUES list joined on createdAt).
  return db().$queryRaw<WindowRuns[]>`
    SELECT w.name AS window, s.status::text AS status, count(*)::int AS runs,
      coalesce(sum(s."kommoCalls"), 0)::int AS kommo, coalesce(sum(s."klaviyoCalls"), 0)::int AS klaviyo,
      count(*) FILTER (WHERE s."errorCode" = ${codes.kommo})::int AS "limitedKommo",
      count(*) FILTER (WHERE s."errorCode" = ${codes.klaviyo})::int AS "limitedKlaviyo"
    FROM ${windowsSql(windows)}
    JOIN "SyncLog" s ON s."createdAt" >= now() - make_interval(secs => w.seconds)
    GROUP BY 1, 2`;
}

/** Median, 95th and 99th percentile of the attempts' durations (seconds) per window. */
export function syncDurationQuantiles(windows: Record<string, number>): Promise<WindowQuantiles[]> {
  // Raw SQL: percentile_cont, which Prisma's aggregates do not offer.
  return db().$queryRaw<WindowQuantiles[]>`
    SELECT w.name AS window,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY s."durationMs") / 1000.0 AS p50,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY s."durationMs") / 1000.0 AS p95,
      percentile_cont(0.99) WITHIN GROUP (ORDER BY s."durationMs") / 1000.0 AS p99
    FROM ${windowsSql(windows)}
    JOIN "SyncLog" s ON s."createdAt" >= now() - make_interval(secs => w.seconds) AND s."durationMs" IS NOT NULL
    GROUP BY 1`;
}

// ---- Retention

/** Failures written before `before` that a later sync covered are marked "superseded". */
export function supersedeCoveredFailures(before: Date): Promise<number> {
  // Raw SQL: a correlated EXISTS over the same table.
  return db().$executeRaw`
    UPDATE "SyncLog" s SET resolution = 'superseded', "resolvedAt" = now()
    WHERE s."createdAt" < ${instant(before)} AND s.status = 'failed' AND s.resolution IS NULL AND ${Prisma.raw(SUPERSEDED)}`;
}

/**
 * Delete up to `limit` rows written before `before`, open failures excepted (the dashboard offers
 * them for replay whatever their age). Returns how many went.
 */
export function deleteSettledRowsBefore(before: Date, limit: number): Promise<number> {
  // Raw SQL: a DELETE with a LIMIT (Prisma's deleteMany has none), so no statement holds locks for
  // long; the expired rows are found through the BRIN index on createdAt.
  return db().$executeRaw`
    DELETE FROM "SyncLog" WHERE id IN (
      SELECT id FROM "SyncLog"
      WHERE "createdAt" < ${instant(before)} AND NOT (status = 'failed' AND resolution IS NULL)
      LIMIT ${limit})`;
}
