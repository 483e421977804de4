// The sync log of one account, newest first, a page at a time: the filters as they arrive in a
// URL, and the page link. Pages are keyset-paginated on (createdAt DESC, id ASC), the order of the
// index SyncLog(accountId, createdAt DESC, id): a page deep in a million rows costs what the first
// one costs, where OFFSET would read every row before it. Filters (status, lead, time range) narrow
// the same scan or use the (accountId, status, createdAt) and (accountId, leadId, createdAt)
// indexes. The statement itself is lib/db/sync-log.ts's.
import { z } from "zod";
import type { SyncStatus } from "@/lib/db/client";
import { readSyncLogPage, type SyncLogCursor, type SyncLogFilters, type SyncLogRow } from "@/lib/db/sync-log";
import { kommoIdTextSchema } from "@/lib/integrations/kommo/ids";
import type { AuthorizedAccount } from "./access";

export const PAGE_SIZE = 50;

export const SYNC_STATUSES = ["ok", "skipped", "retrying", "failed"] as const satisfies readonly SyncStatus[];

/** Where the previous page stopped: the last row's createdAt and id. */
const cursorSchema = z.object({ t: z.iso.datetime(), id: z.uuid() });
export type LogCursor = SyncLogCursor;

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

export type LogFilters = SyncLogFilters;

/** Filters as they arrive in a URL (every value a string or absent); bad values are reported, not ignored. */
export const logFiltersSchema = z
  .object({
    status: z.enum(SYNC_STATUSES).optional(),
    lead: kommoIdTextSchema.optional(),
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

export type LogRow = SyncLogRow;

export type LogPage = { rows: LogRow[]; next: string | null };

export async function readLogPage(account: AuthorizedAccount, filters: LogFilters, cursor: LogCursor | null, pageSize = PAGE_SIZE): Promise<LogPage> {
  const rows = await readSyncLogPage(account.id, filters, cursor, pageSize + 1);
  const page = rows.slice(0, pageSize);
  const last = page[page.length - 1];
  return { rows: page, next: rows.length > pageSize && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null };
}
