// When a backfill run stops trying: failures are counted in the run (across jobs), and a run that
// cannot make progress ends as failed with a reason a person can act on, instead of running forever.
import { db } from "@/lib/db/client";
import { OutcomeError } from "@/lib/outcomes";

/**
 * Failures in a row, with no chunk saved in between, that end the run. The minute tick hands a run
 * whose job keeps failing to a fresh job (with a fresh retry count), so the count is kept in the
 * run, across jobs: a run that cannot make progress ends as failed instead of running forever.
 * The same unexplained error three times is not going away by itself (a bug, data the database
 * refuses); an outage of Kommo or Klaviyo (rate limits, 5xx, network) gets as many attempts as
 * the queue gives one job, about an hour and a half with its backoff.
 */
export const SAME_FAILURE_LIMIT = 3;
/** Retries the queue gives one backfill job (backfill-job.ts): 10 s * 2^n over 8 retries ≈ 1.5 h. */
export const BACKFILL_RETRY_LIMIT = 8;
export const FAILURES_IN_A_ROW_LIMIT = BACKFILL_RETRY_LIMIT + 1;

/** final: a person must act first (bad key, revoked access, data the database refuses). */
type FailureKind = "final" | "transient" | "unknown";

/** SQLSTATE classes of statements that fail the same way on every attempt: data exceptions, and SQL or schema errors. */
const PERMANENT_SQL_STATES = /^(22|42)/;

/** The SQLSTATE and message of a database error (Prisma's, through its Postgres adapter, or node-postgres's). */
function sqlError(error: unknown): { state: string; message: string } | null {
  for (let cause: unknown = error, depth = 0; cause && typeof cause === "object" && depth < 5; depth++) {
    const candidate = cause as { code?: unknown; message?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; originalMessage?: unknown } } }; cause?: unknown };
    const adapter = candidate.meta?.driverAdapterError?.cause;
    if (typeof adapter?.originalCode === "string") return { state: adapter.originalCode, message: String(adapter.originalMessage ?? "") };
    if (typeof candidate.code === "string" && /^[0-9A-Z]{5}$/.test(candidate.code) && "severity" in candidate) {
      return { state: candidate.code, message: String(candidate.message ?? "") };
    }
    cause = candidate.cause;
  }
  return null;
}

function failureKind(error: unknown): FailureKind {
  if (error instanceof OutcomeError) return error.retryable ? "transient" : "final";
  const sql = sqlError(error);
  if (sql && PERMANENT_SQL_STATES.test(sql.state)) return "final";
  return "unknown";
}

/** The cause in one line: the database's own words for a database error, else the message's last line. */
function oneLine(error: unknown): string {
  const text = sqlError(error)?.message || (error instanceof Error ? error.message : String(error));
  return (text.split("\n").map((line) => line.trim()).filter(Boolean).at(-1) ?? "unknown error").replace(/\.$/, "");
}

/** What the widget shows of a run that stopped ("The import stopped: …"): the cause, and what to do about it. */
export function stoppedReason(error: unknown, failures: { inARow: number; sameMessage: number }): string {
  const kind = failureKind(error);
  const sql = sqlError(error);
  if (kind === "final" && sql) {
    return `Klaviyo Sync could not store the imported deals (the database answered: ${sql.message}). This is a fault in Klaviyo Sync, not in your deals: tell its operator, and start the import again once it is fixed`;
  }
  if (kind === "final") return `${oneLine(error)}. Once that is fixed, start the import again`;
  if (kind === "unknown" && failures.sameMessage >= SAME_FAILURE_LIMIT) {
    return `${oneLine(error)} (the same error ${failures.sameMessage} times in a row, no deals imported in between). Start the import again; if it stops the same way, tell Klaviyo Sync's operator`;
  }
  return `${oneLine(error)} (${failures.inARow} attempts in a row failed, no deals imported in between). Kommo or Klaviyo may be unavailable: start the import again later`;
}

/**
 * Count a failed attempt in the run; returns whether the run has now ended (as failed). The count
 * is kept in the cursor, beside what a newer job may be writing there.
 */
export async function recordFailure(runId: string, error: unknown, lastRetry: boolean): Promise<boolean> {
  const cause = oneLine(error);
  // Raw SQL: the failure is counted inside the JSON cursor (jsonb_set), in the statement that reads
  // the previous count, without overwriting the rest of a cursor that a newer job may be writing.
  const [counted] = await db().$queryRaw<{ inARow: number; sameMessage: number }[]>`
    UPDATE "BackfillRun" SET "lastError" = ${cause}, "updatedAt" = now(),
      "cursor" = jsonb_set(COALESCE("cursor", '{}'::jsonb), '{failures}', jsonb_build_object(
        'inARow', COALESCE(("cursor"->'failures'->>'inARow')::int, 0) + 1,
        'message', ${cause}::text,
        'sameMessage', CASE WHEN "cursor"->'failures'->>'message' = ${cause}::text THEN ("cursor"->'failures'->>'sameMessage')::int + 1 ELSE 1 END))
    WHERE "id" = ${runId}::uuid AND "status" IN ('queued', 'running')
    RETURNING ("cursor"->'failures'->>'inARow')::int AS "inARow", ("cursor"->'failures'->>'sameMessage')::int AS "sameMessage"`;
  // The run ended meanwhile (completed by a newer job, cancelled): nothing is left to retry.
  if (!counted) return true;
  const kind = failureKind(error);
  const ends =
    kind === "final" ||
    lastRetry ||
    counted.inARow >= FAILURES_IN_A_ROW_LIMIT ||
    (kind === "unknown" && counted.sameMessage >= SAME_FAILURE_LIMIT);
  if (!ends) return false;
  await db().backfillRun.updateMany({
    where: { id: runId, status: { in: ["queued", "running"] } },
    data: { status: "failed", finishedAt: new Date(), lastError: stoppedReason(error, counted) },
  });
  return true;
}
