// The historical import job (queue `backfill`): works through a run chunk by chunk (1000 deals),
// reading the next chunk from Kommo while the current one goes to Klaviyo, and saves the cursor
// with each chunk's results in one transaction. A job stops after a time budget and queues its
// successor. While it works it keeps the run's updatedAt fresh (its heartbeat): when a worker is
// killed, the heartbeat stops, the minute tick queues a new job, and the run continues from its
// cursor; what the dead job had half done is done again, idempotently. A job that finds the run
// taken over by a newer one stops at its next heartbeat. A run that cannot make progress (a failure
// a person must fix, or the same failure again and again) ends as failed, with the reason.
//
// Deals new to us get their Deal row and profile link, so live syncs continue from the imported
// state. Deals the live sync owns (synced, or with a webhook recorded) get their profile and lists
// refreshed (a second run after new list mappings is how existing deals reach the new lists), but
// no historical events: theirs go out live.
import { z } from "zod";
import type { Account, BackfillRun } from "@/lib/db/client";
import { db, numberIds, Prisma } from "@/lib/db/client";
import { addImportedLists, saveImportedDeals, syncedLeadIds, type ImportedDeal } from "@/lib/db/deals";
import { leadsWithRecordedEvents } from "@/lib/db/inbound-events";
import { getEnv } from "@/lib/platform/env";
import type { JobContext } from "@/lib/jobs/worker";
import { KlaviyoError, type KlaviyoClient } from "@/lib/integrations/klaviyo";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import { isRetryable, KommoError } from "@/lib/integrations/kommo/errors";
import { loadSettings } from "@/lib/features/sync/account-settings";
import { klaviyoClientFor, KlaviyoNotConnectedError } from "@/lib/integrations/klaviyo/account-client";
import type { SyncSettings } from "@/lib/features/sync/settings";
import { addListMembers, importProfiles, sendHistoricalEvents, type PendingLists } from "./klaviyo-writes";
import { readChunk, readDirectory, type Chunk } from "./kommo-reads";
import { planHistoricalDeal, type DealPlan, type Directory } from "./plan";
import { enqueueBackfill } from "./runs";
import { QUEUES } from "@/lib/jobs/queues";
import { readCursor, storedScope, type BackfillCursor, type BackfillScope } from "./scope";

export const backfillJobSchema = z.object({ runId: z.uuid() });

/** Another job attempt took the run over (this one was presumed dead); stop without touching it. */
class RunTakenOverError extends Error {}

type Context = {
  run: BackfillRun;
  /** When the run began: a deal created since is a live one (its webhook is on the way). */
  runStartedAt: Date;
  account: Account;
  owner: string;
  scope: BackfillScope;
  settings: SyncSettings;
  kommo: KommoClient;
  klaviyo: KlaviyoClient;
  directory: Directory;
  cursor: BackfillCursor;
};

type ChunkResult = { done: number; errors: number; skipped: number; lastError: string | null; pendingLists: PendingLists };

export type SliceOutcome = "completed" | "continue" | "idle";

/** How long one job works before handing over to its successor (jobs stay short, runs resumable). */
export const SLICE_BUDGET_MS = 2 * 60_000;

/**
 * A running run without a heartbeat for this long has lost its worker. Twice the sync-job timeout:
 * longer than any single wait of a live job (Kommo's and Klaviyo's longest inline Retry-After).
 */
export const backfillStallMs = () => 2 * getEnv().SYNC_JOB_TIMEOUT_SECONDS * 1000;

/** Work on the run for about `budgetMs` (at least one chunk). */
export async function runBackfillSlice(runId: string, owner: string, budgetMs = SLICE_BUDGET_MS): Promise<SliceOutcome> {
  const startedAt = Date.now();
  const context = await takeOver(runId, owner);
  if (!context) return "idle";

  let next: Promise<Chunk> | null = context.cursor.started && context.cursor.nextHref === null ? null : readChunk(context.kommo, context.scope, context.cursor.nextHref);
  while (next) {
    const chunk = await next;
    // Read the following chunk from Kommo while this one goes to Klaviyo, unless the budget is spent:
    // then this is the slice's last chunk, and the successor job reads on from the cursor.
    const more = chunk.nextHref !== null && Date.now() - startedAt < budgetMs;
    next = more ? readChunk(context.kommo, context.scope, chunk.nextHref) : null;
    next?.catch(() => undefined); // awaited in the next round; a failure there is handled there
    await writeChunk(context, chunk);
    if (chunk.nextHref === null) {
      await finish(context);
      return "completed";
    }
    if (!more) return "continue";
  }
  await finish(context);
  return "completed";
}

async function takeOver(runId: string, owner: string): Promise<Context | null> {
  const found = await db().backfillRun.findUnique({ where: { id: runId }, include: { account: true } });
  if (!found || (found.status !== "queued" && found.status !== "running")) return null;
  const { account: row, ...run } = found;
  const account = numberIds(row);
  if (account.status === "disconnected") {
    await db().backfillRun.update({
      where: { id: run.id },
      data: { status: "cancelled", lastError: "the integration was disconnected from Kommo", finishedAt: new Date() },
    });
    return null;
  }
  // Waits, queued, for a Klaviyo key (the minute tick starts it once there is one).
  if (!account.klaviyoApiKeyEnc || account.paused) return null;
  const cursor = { ...readCursor(run.cursor), owner };
  const runStartedAt = run.startedAt ?? new Date();
  await db().backfillRun.update({
    where: { id: run.id },
    data: { status: "running", startedAt: runStartedAt, cursor: cursor as Prisma.InputJsonObject },
  });
  const kommo = await kommoClientFor(account.id);
  return {
    run,
    runStartedAt,
    account,
    owner,
    scope: storedScope(run.scope),
    settings: await loadSettings(account),
    kommo,
    klaviyo: klaviyoClientFor(account),
    directory: await readDirectory(kommo),
    cursor,
  };
}

/** Tell the run (and the minute tick) this job is alive; stop when a newer job has taken the run over. */
async function heartbeat(context: Context): Promise<void> {
  // Raw SQL: the owner is a field of the JSON cursor, compared in the update's condition.
  const touched = await db().$executeRaw`
    UPDATE "BackfillRun" SET "updatedAt" = now()
    WHERE "id" = ${context.run.id}::uuid AND "status" = 'running' AND "cursor"->>'owner' = ${context.owner}`;
  if (touched === 0) throw new RunTakenOverError();
}

/**
 * Deals of this chunk that the live sync owns: synced already, or with a change recorded from a
 * webhook or reconciliation (their sync sends their events, and a flow must fire for a deal that is
 * new). History adds no event for them, so nothing reaches Klaviyo twice under two unique_ids.
 */
async function liveDeals(accountId: string, leadIds: number[]): Promise<Set<number>> {
  const [synced, recorded] = await Promise.all([syncedLeadIds(accountId, leadIds), leadsWithRecordedEvents(accountId, leadIds)]);
  return new Set([...synced, ...recorded]);
}

async function writeChunk(context: Context, chunk: Chunk): Promise<void> {
  const { account, settings, klaviyo } = context;
  await heartbeat(context);
  const info = { kommoAccountId: account.kommoAccountId, host: account.host, currency: account.currency, country: account.country };
  const live = await liveDeals(account.id, chunk.deals.map((deal) => deal.lead.id));
  for (const deal of chunk.deals) if (deal.lead.created_at * 1000 >= context.runStartedAt.getTime()) live.add(deal.lead.id);
  const plans: DealPlan[] = [];
  let skipped = 0;
  for (const deal of chunk.deals) {
    const outcome = planHistoricalDeal(deal, context.directory, info, settings);
    if ("skip" in outcome) skipped++;
    else plans.push(outcome.plan);
  }

  // One profile per email: of a contact's deals, the one changed last describes it (as a live sync would).
  const byEmail = new Map<string, DealPlan>();
  for (const plan of plans) {
    const key = plan.email.toLowerCase();
    const held = byEmail.get(key);
    if (!held || plan.updatedAt > held.updatedAt || (plan.updatedAt === held.updatedAt && plan.leadId > held.leadId)) byEmail.set(key, plan);
  }
  if (byEmail.size > 0) await importProfiles(klaviyo, [...byEmail.values()].map((plan) => plan.profile), () => heartbeat(context));
  const ids = byEmail.size > 0 ? await klaviyo.getProfileIdsByEmails([...byEmail.keys()]) : new Map<string, string>();

  const imported = plans.filter((plan) => ids.has(plan.email.toLowerCase()));
  const missing = plans.filter((plan) => !ids.has(plan.email.toLowerCase()));
  const pending: PendingLists = structuredClone(context.cursor.pendingLists);
  for (const plan of imported) {
    for (const listId of plan.listIds) (pending[listId] ??= []).push(ids.get(plan.email.toLowerCase())!);
  }
  await heartbeat(context);
  const events = imported.filter((plan) => !live.has(plan.leadId)).flatMap((plan) => plan.events);
  if (events.length > 0) await sendHistoricalEvents(klaviyo, events);
  const pendingLists = await addListMembers(klaviyo, pending, chunk.nextHref === null);

  await commitChunk(context, chunk, imported, ids, live, {
    done: chunk.deals.length,
    errors: missing.length,
    skipped,
    lastError: missing.length > 0 ? `Klaviyo did not import the profile of ${missing.length} deal(s), e.g. lead ${missing[0]!.leadId}` : null,
    pendingLists,
  });
}

/** The chunk's Deal rows, profile links and the run's progress: all or nothing. */
async function commitChunk(context: Context, chunk: Chunk, imported: DealPlan[], ids: Map<string, string>, live: Set<number>, result: ChunkResult): Promise<void> {
  const { account, run, owner } = context;
  const cursor: BackfillCursor = {
    owner,
    started: true,
    nextHref: chunk.nextHref,
    pendingLists: result.pendingLists,
    skipped: context.cursor.skipped + result.skipped,
    // A saved chunk is progress: earlier failures were not the run's end.
    failures: null,
  };
  const profileOf = (plan: DealPlan) => ids.get(plan.email.toLowerCase())!;
  const deals: ImportedDeal[] = imported.map((plan) => ({
    leadId: plan.leadId,
    pipelineId: plan.nextState.pipelineId,
    statusId: plan.nextState.statusId,
    stageName: plan.nextState.stageName,
    mainContactId: plan.contactId,
    email: plan.email,
    klaviyoProfileId: profileOf(plan),
    listIds: plan.nextState.listIds,
    profileFingerprint: plan.nextState.profileFingerprint,
    closedAt: plan.closedAt?.toISOString() ?? null,
  }));
  const fresh = deals.filter((deal) => !live.has(deal.leadId));
  const known = deals.filter((deal) => live.has(deal.leadId)).map((deal) => ({ leadId: deal.leadId, email: deal.email, listIds: deal.listIds }));
  const links = [...new Map(imported.map((plan) => [plan.contactId, { contactId: plan.contactId, email: plan.email, klaviyoProfileId: profileOf(plan) }])).values()];

  await db().$transaction(async (tx) => {
    // Raw SQL: counters added to in place and the owner in the JSON cursor as the condition.
    const updated = await tx.$executeRaw`
      UPDATE "BackfillRun"
      SET "cursor" = ${JSON.stringify(cursor)}::jsonb, "done" = "done" + ${result.done}, "errors" = "errors" + ${result.errors},
          "lastError" = COALESCE(${result.lastError}, "lastError"), "updatedAt" = now()
      WHERE "id" = ${run.id}::uuid AND "status" = 'running' AND "cursor"->>'owner' = ${owner}`;
    if (updated === 0) throw new RunTakenOverError();
    await saveImportedDeals(tx, account.id, fresh);
    await addImportedLists(tx, account.id, known);
    if (links.length > 0) {
      // Raw SQL: a bulk upsert of the chunk's contacts in one statement (Prisma's upsert is one row).
      await tx.$executeRaw`
        INSERT INTO "KlaviyoProfileLink" ("id", "accountId", "contactId", "email", "klaviyoProfileId", "updatedAt")
        SELECT gen_random_uuid(), ${account.id}::uuid, l."contactId", l.email, l."klaviyoProfileId", now()
        FROM jsonb_to_recordset(${JSON.stringify(links)}::jsonb) AS l("contactId" bigint, email text, "klaviyoProfileId" text)
        ON CONFLICT ("accountId", "contactId") DO UPDATE SET
          "email" = EXCLUDED."email", "klaviyoProfileId" = EXCLUDED."klaviyoProfileId", "updatedAt" = EXCLUDED."updatedAt"`;
    }
  });
  context.cursor = cursor;
}

async function finish(context: Context): Promise<void> {
  // Raw SQL: total is set from the row's own done, under the owner condition in the JSON cursor.
  await db().$executeRaw`
    UPDATE "BackfillRun"
    SET "status" = 'completed', "total" = "done", "finishedAt" = now(), "updatedAt" = now()
    WHERE "id" = ${context.run.id}::uuid AND "status" = 'running' AND "cursor"->>'owner' = ${context.owner}`;
}

/**
 * Failures in a row, with no chunk saved in between, that end the run. The minute tick hands a run
 * whose job keeps failing to a fresh job (with a fresh retry count), so the count is kept in the
 * run, across jobs: a run that cannot make progress ends as failed instead of running forever.
 * The same unexplained error three times is not going away by itself (a bug, data the database
 * refuses); an outage of Kommo or Klaviyo (rate limits, 5xx, network) gets as many attempts as
 * the queue gives one job, about an hour and a half with its backoff.
 */
export const SAME_FAILURE_LIMIT = 3;
export const FAILURES_IN_A_ROW_LIMIT = QUEUES.backfill.options.retryLimit + 1;

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
  if (error instanceof KlaviyoError || error instanceof KlaviyoNotConnectedError) return error.retryable ? "transient" : "final";
  if (error instanceof KommoError) return isRetryable(error) ? "transient" : "final";
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
async function recordFailure(runId: string, error: unknown, lastRetry: boolean): Promise<boolean> {
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

export async function handleBackfillJob(data: unknown, context: JobContext): Promise<void> {
  const { runId } = backfillJobSchema.parse(data);
  const owner = `${context.id}:${context.retryCount}`;
  try {
    const outcome = await runBackfillSlice(runId, owner);
    if (outcome === "continue") await enqueueBackfill(runId);
    if (outcome === "completed") context.log.info({ runId }, "backfill completed");
  } catch (error) {
    if (error instanceof RunTakenOverError) {
      context.log.warn({ runId }, "backfill taken over by a newer job; this one stops");
      return;
    }
    const ended = await recordFailure(runId, error, context.retryCount >= context.retryLimit);
    context.log[ended ? "error" : "warn"]({ runId, err: error }, ended ? "backfill failed" : "backfill interrupted; it resumes from its cursor");
    if (!ended) throw error;
  }
}
