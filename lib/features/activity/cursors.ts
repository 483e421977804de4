// Where the poller stands per email metric. Klaviyo's Events API filters by metric id, not by name,
// so the six metric ids are looked up once (GET /api/metrics) and kept in ActivityCursor with the
// position reached. A metric the Klaviyo account does not have yet (no bounce ever recorded) is
// looked up again, but at most once an hour per worker: metrics cost 10 calls/s, 150/min.
import type { Account, ActivityCursor } from "@/lib/db/client";
import { db } from "@/lib/db/client";
import type { KlaviyoClient } from "@/lib/integrations/klaviyo";
import { ACTIVITY_METRICS, activityMetricNamed, type ActivityMetric } from "./note-text";

/** A first poll reads this far back at most: older email activity is history, not news. */
export const INITIAL_LOOKBACK_MS = 7 * 24 * 3600 * 1000;
const MISSING_METRIC_RETRY_MS = 3600 * 1000;

const lastLookup = new Map<string, number>();

export type MetricCursor = { id: string; metricId: string; metric: ActivityMetric; cursor: Date | null };

/** Where a metric's first poll starts: the install, but no more than a week back. */
export function initialPosition(account: Pick<Account, "installedAt">, now = new Date()): Date {
  return new Date(Math.max(account.installedAt.getTime(), now.getTime() - INITIAL_LOOKBACK_MS));
}

function toCursor(row: ActivityCursor): MetricCursor | null {
  const metric = activityMetricNamed(row.metricName);
  if (!metric) return null;
  return { id: row.id, metricId: row.metricId, metric, cursor: row.cursor ? new Date(row.cursor) : null };
}

export async function metricCursors(account: Pick<Account, "id" | "installedAt">, klaviyo: KlaviyoClient): Promise<MetricCursor[]> {
  const stored = await db().activityCursor.findMany({ where: { accountId: account.id } });
  const known = new Set(stored.map((row) => activityMetricNamed(row.metricName)));
  const missing = ACTIVITY_METRICS.filter((metric) => !known.has(metric));
  const lookedUpAt = lastLookup.get(account.id) ?? 0;
  if (missing.length > 0 && Date.now() - lookedUpAt > MISSING_METRIC_RETRY_MS) {
    lastLookup.set(account.id, Date.now());
    // Klaviyo's own email metrics belong to its "Klaviyo" integration: one or two pages at most.
    const metrics = await klaviyo.getMetrics({ integrationName: "Klaviyo" });
    const start = initialPosition(account).toISOString();
    for (const metric of missing) {
      const found = metrics.find((candidate) => activityMetricNamed(candidate.name) === metric);
      if (!found) continue;
      const row = await db().activityCursor.upsert({
        where: { accountId_metricId: { accountId: account.id, metricId: found.id } },
        create: { accountId: account.id, metricId: found.id, metricName: metric, cursor: start },
        update: {},
      });
      stored.push(row);
    }
  }
  return stored.map(toCursor).filter((cursor): cursor is MetricCursor => cursor !== null);
}

/** Move a metric's position forward (never back: two polls that overlap must not undo each other). */
export async function advanceCursor(cursor: MetricCursor, to: Date): Promise<void> {
  if (cursor.cursor && to <= cursor.cursor) return;
  // Raw SQL: the stored position is text, compared as an instant in the same statement that moves it.
  await db().$executeRaw`
    UPDATE "ActivityCursor" SET "cursor" = ${to.toISOString()}, "updatedAt" = now()
    WHERE "id" = ${cursor.id}::uuid AND ("cursor" IS NULL OR "cursor"::timestamptz < ${to.toISOString()}::timestamptz)`;
  cursor.cursor = to;
}
