// The historical import (its job: backfill-job.ts): works through a run chunk by chunk (1000 deals),
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
import type { Account, BackfillRun } from "@/lib/db/client";
import { db, numberIds, Prisma } from "@/lib/db/client";
import { addImportedLists, saveImportedDeals, syncedLeadIds, type ImportedDeal } from "@/lib/db/deals";
import { leadsWithRecordedEvents } from "@/lib/db/inbound-events";
import { getEnv } from "@/lib/platform/env";
import type { KlaviyoClient } from "@/lib/integrations/klaviyo";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import { loadSettings } from "@/lib/features/settings/account-settings";
import { consentOfImportedContacts } from "@/lib/features/consent/from-backfill";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";
import type { SyncSettings } from "@/lib/features/settings/settings";
import { addListMembers, importProfiles, sendHistoricalEvents, type PendingLists } from "./klaviyo-writes";
import { readChunk, readDirectory, type Chunk } from "./kommo-reads";
import { planHistoricalDeal, type DealPlan, type Directory } from "./plan";
import { knowsStage } from "@/lib/features/sync/deal-reader";
import { readCursor, storedScope, type BackfillCursor, type BackfillScope } from "./scope";


/** Another job attempt took the run over (this one was presumed dead); stop without touching it. */
export class RunTakenOverError extends Error {}

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

/**
 * The run's pipelines and stages, read again when a deal of the chunk is in a stage created since
 * they were read: its profile would otherwise go to Klaviyo without its stage and pipeline names.
 */
async function directoryFor(context: Context, chunk: Chunk): Promise<Directory> {
  const known = chunk.deals.every(({ lead }) => knowsStage(context.directory, lead.pipeline_id, lead.status_id));
  if (!known) context.directory = await readDirectory(context.kommo);
  return context.directory;
}

async function writeChunk(context: Context, chunk: Chunk): Promise<void> {
  const { account, settings, klaviyo } = context;
  await heartbeat(context);
  const directory = await directoryFor(context, chunk);
  const info = { kommoAccountId: account.kommoAccountId, host: account.host, currency: account.currency, country: account.country };
  const live = await liveDeals(account.id, chunk.deals.map((deal) => deal.lead.id));
  for (const deal of chunk.deals) if (deal.lead.created_at * 1000 >= context.runStartedAt.getTime()) live.add(deal.lead.id);
  const plans: DealPlan[] = [];
  let skipped = 0;
  for (const deal of chunk.deals) {
    const outcome = planHistoricalDeal(deal, directory, info, settings);
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
  await consentOfImportedContacts(account, settings.consent, chunk.deals.flatMap((deal) => (deal.contact ? [deal.contact] : [])), klaviyo);
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

