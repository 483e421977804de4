// The sync log of one account, newest first, a page at a time. Pages are keyset-paginated on
// (createdAt DESC, id ASC), the order of the index SyncLog(accountId, createdAt DESC, id): a page
// deep in a million rows costs what the first one costs, where OFFSET would read every row before
// it. Filters (status, lead, time range) narrow the same scan or use the (accountId, status,
// createdAt) and (accountId, leadId, createdAt) indexes.
import { z } from "zod";
import { db, Prisma, type SyncStatus } from "@/lib/db/client";
import type { AuthorizedAccount } from "./access";

export const PAGE_SIZE = 50;

export const SYNC_STATUSES = ["ok", "skipped", "retrying", "failed"] as const satisfies readonly SyncStatus[];

/** Where the previous page stopped: the last row's createdAt and id. */
const cursorSchema = z.object({ t: z.iso.datetime(), id: z.uuid() });
export type LogCursor = { createdAt: Date; id: string };

export function encodeCursor(cursor: LogCursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.createdAt.toISOString(), id: cursor.id })).toString("base64url");
}

/** null for anything that is not a cursor this module wrote. */
export function decodeCursor(text: string): LogCursor | null {
  try {
    const parsed = cursorSchema.safeParse(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
    return parsed.success ? { createdAt: new Date(parsed.data.t), id: parsed.data.id } : null;
  } catch {
    return null;
  }
}

export type LogFilters = {
  status?: SyncStatus;
  leadId?: number;
  /** Inclusive lower and exclusive upper bound on when the row was written. */
  from?: Date;
  to?: Date;
  /** Only failures nobody has replayed or dismissed yet (the dead-letter list). */
  openFailuresOnly?: boolean;
};

/** Filters as they arrive in a URL (every value a string or absent); bad values are reported, not ignored. */
export const logFiltersSchema = z
  .object({
    status: z.enum(SYNC_STATUSES).optional(),
    lead: z.coerce.number().int().positive().max(2_147_483_647).optional(),
    from: z.iso.datetime({ local: true, offset: true }).optional(),
    to: z.iso.datetime({ local: true, offset: true }).optional(),
    cursor: z.string().max(200).optional(),
  })
  .transform((value, context) => {
    // A datetime-local field has no zone: the dashboard shows and takes times in UTC.
    const toDate = (text: string | undefined) => (text ? new Date(/[zZ]|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`) : undefined);
    const cursor = value.cursor ? decodeCursor(value.cursor) : null;
    if (value.cursor && !cursor) context.addIssue({ code: "custom", path: ["cursor"], message: "this page link is not valid any more; start from the first page" });
    const filters: LogFilters = { status: value.status, leadId: value.lead, from: toDate(value.from), to: toDate(value.to) };
    if (filters.from && filters.to && filters.from >= filters.to) context.addIssue({ code: "custom", path: ["to"], message: "the end of the time range must be after its start" });
    return { filters, cursor };
  });

/** Empty strings (an unset form field) count as absent. */
export function parseLogQuery(query: Record<string, string | string[] | undefined>) {
  const single = Object.fromEntries(
    Object.entries(query)
      .map(([key, value]) => [key, Array.isArray(value) ? value[0] : value])
      .filter(([, value]) => value !== undefined && value !== ""),
  );
  return logFiltersSchema.safeParse(single);
}

export type LogRow = {
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

export type LogPage = { rows: LogRow[]; next: string | null };

const instant = (date: Date) => Prisma.sql`${date.toISOString()}::timestamptz`;

/** A later ok or skipped sync of the same deal applied the changes a failure was carrying. */
export const SUPERSEDED = Prisma.sql`EXISTS (
  SELECT 1 FROM "SyncLog" later
  WHERE later."accountId" = s."accountId" AND later."leadId" = s."leadId"
    AND later."createdAt" > s."createdAt" AND later.status IN ('ok', 'skipped'))`;

/** The statement behind a page, exported so that tests can EXPLAIN exactly what the dashboard runs. */
export function logPageQuery(accountId: string, filters: LogFilters, cursor: LogCursor | null, limit: number): Prisma.Sql {
  const conditions: Prisma.Sql[] = [Prisma.sql`s."accountId" = ${accountId}::uuid`];
  if (filters.openFailuresOnly) {
    conditions.push(Prisma.sql`s.status = 'failed' AND s.resolution IS NULL AND NOT ${SUPERSEDED}`);
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

export async function readLogPage(account: AuthorizedAccount, filters: LogFilters, cursor: LogCursor | null, pageSize = PAGE_SIZE): Promise<LogPage> {
  const rows = await db().$queryRaw<LogRow[]>(logPageQuery(account.id, filters, cursor, pageSize + 1));
  const page = rows.slice(0, pageSize);
  const last = page[page.length - 1];
  return { rows: page, next: rows.length > pageSize && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null };
}
