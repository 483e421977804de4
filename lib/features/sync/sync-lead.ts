// The sync job of one Kommo lead: every change recorded for it since the last sync, applied to
// Klaviyo in one pass, then the deal's new state and a sync-log row. A burst of webhooks for one
// lead becomes one job (the queue keeps one queued job per lead) and one pass here.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { db, type Account, type SyncStatus } from "@/lib/db/client";
import { defineJob, type JobContext } from "@/lib/jobs/define-job";
import { DEAD_LETTER_QUEUE } from "@/lib/jobs/queues";
import { syncJobTimeoutSeconds } from "@/lib/platform/env";
import type { KlaviyoClient } from "@/lib/integrations/klaviyo";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import { errorCodeOf, isRetryable, SKIP_REASONS, type ErrorCode, type SkipReason } from "@/lib/outcomes";
import { loadSettings } from "./account-settings";
import { applyOperations, type AppliedOperation } from "./apply";
import { changesFromEvents } from "./changes";
import { readDeal } from "./deal-reader";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";
import { acquireDealLease, releaseDealLease } from "./lease";
import { mapDealToKlaviyo, type MappingResult, type PreviousDealState } from "./mapping";

export const syncLeadJobSchema = z.object({ accountId: z.uuid(), leadId: z.number().int().positive() });

/**
 * One job per Kommo lead. Policy "short" keeps at most one queued job per lead (singletonKey), so a
 * burst of webhooks for one lead coalesces into one sync; the job reads every pending change.
 * pg-boss waits between 2.5 s and 5 s * 2^n (jitter) before retry n: 15 retries span at least
 * 45 hours (at most 91) before the job is dead-lettered, so a day-long outage of Klaviyo or Kommo
 * loses nothing. 14 would allow as little as 22.7 hours.
 */
export const syncLeadJob = defineJob({
  name: "sync-lead",
  payload: syncLeadJobSchema,
  queue: { policy: "short", retryLimit: 15, retryDelay: 5, retryBackoff: true, deadLetter: DEAD_LETTER_QUEUE },
  expireInSeconds: syncJobTimeoutSeconds,
  run: (payload, context) => runSyncLeadJob(payload, context),
});

type Outcome = {
  status: SyncStatus;
  trigger: string;
  operations: AppliedOperation[];
  error?: string;
  /** An error code for a failed attempt, the skip reason for a skipped one. */
  errorCode?: ErrorCode | SkipReason;
};

const skipSentence = (reason: SkipReason, detail?: string) => (detail ? `${SKIP_REASONS[reason]}: ${detail}` : SKIP_REASONS[reason]);

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function runSyncLeadJob(job: z.infer<typeof syncLeadJobSchema>, context: JobContext): Promise<void> {
  const account = await db().account.findUnique({ where: { id: job.accountId } });
  // Disconnected accounts lose their data; paused ones keep their changes for when they resume.
  if (!account || account.status === "disconnected" || account.paused) return;

  const owner = `${context.id}:${randomUUID()}`;
  await acquireDealLease(account.id, job.leadId, owner);
  try {
    await syncLead(account, job.leadId, context);
  } finally {
    await releaseDealLease(account.id, job.leadId, owner);
  }
}

async function syncLead(account: Account, leadId: number, context: JobContext): Promise<void> {
  const startedAt = new Date();
  const pending = await db().inboundEvent.findMany({
    where: { accountId: account.id, leadId, processedAt: null },
    orderBy: [{ changedAt: "asc" }, { receivedAt: "asc" }],
  });
  // Already covered by an earlier job of this lead (coalesced burst).
  if (pending.length === 0) return;
  const trigger = [...new Set(pending.map((event) => event.kind))].join(",");
  const attempt = context.retryCount + 1;
  const finalAttempt = context.retryCount >= context.retryLimit;

  // Clients are created inside the try (creating them can fail: no key, revoked access), and their
  // call counts are read whenever a row is written, so a failed attempt shows what it cost too.
  let kommo: KommoClient | undefined;
  let klaviyo: KlaviyoClient | undefined;
  const calls = () => ({ kommoCalls: kommo?.requestCount ?? 0, klaviyoCalls: klaviyo?.calls ?? 0 });
  const record = async (outcome: Outcome, processed: boolean, state?: DealStateUpdate) => {
    const finishedAt = new Date();
    await db().$transaction(async (tx) => {
      await tx.syncLog.create({
        data: {
          accountId: account.id,
          leadId,
          trigger: outcome.trigger,
          status: outcome.status,
          operations: outcome.operations,
          error: outcome.error ?? null,
          errorCode: outcome.errorCode ?? null,
          attempt,
          jobId: context.id,
          ...calls(),
          startedAt,
          finishedAt,
          durationMs: finishedAt.getTime() - startedAt.getTime(),
        },
      });
      if (processed) {
        await tx.inboundEvent.updateMany({ where: { id: { in: pending.map((event) => event.id) } }, data: { processedAt: finishedAt } });
      }
      await saveDeal(tx, account.id, leadId, outcome, finishedAt, state);
    });
  };

  try {
    const settings = await loadSettings(account);
    klaviyo = klaviyoClientFor(account);
    kommo = await kommoClientFor(account.id);
    // A contact change, or a person's "Sync now", reads the contact from Kommo rather than our cache.
    const freshContact = pending.some((event) => event.kind === "update_contact" || event.kind === "sync_now");
    const deal = await readDeal(account.id, kommo, leadId, { freshContact });
    const stored = await db().deal.findUnique({ where: { accountId_leadId: { accountId: account.id, leadId } } });
    const previous: PreviousDealState | null =
      stored && stored.lastSyncedAt
        ? {
            pipelineId: stored.pipelineId,
            statusId: stored.statusId,
            stageName: stored.stageName,
            email: stored.email,
            profileId: stored.klaviyoProfileId,
            listIds: stored.listIds,
            profileFingerprint: stored.profileFingerprint,
          }
        : null;
    const keepListIds = await listsOfOtherDeals(account.id, leadId, deal?.snapshot.mainContact?.emails[0] ?? stored?.email ?? null);
    const plan: MappingResult = mapDealToKlaviyo({
      account: { kommoAccountId: account.kommoAccountId, host: account.host, currency: account.currency, country: account.country },
      deal: deal?.snapshot ?? null,
      changes: changesFromEvents(pending, deal?.stageName ?? (() => null)),
      previous,
      settings,
      keepListIds,
      options: { force: pending.some((event) => event.kind === "sync_now") },
    });

    if ("skip" in plan) {
      await record(
        { status: "skipped", trigger, operations: [], error: [skipSentence(plan.skip, plan.detail), ...plan.warnings].join("; "), errorCode: plan.skip },
        true,
        { deleted: deal === null, contactId: deal?.snapshot.mainContact?.id ?? null },
      );
      context.log.info({ leadId, reason: plan.skip }, "deal skipped");
      return;
    }

    const result = await applyOperations(klaviyo, plan.operations, previous?.profileId ?? null);
    const warnings = [...plan.warnings, ...result.ignoredIdentifiers.map((identifier) => `Klaviyo kept the profile without its ${identifier}`)];
    await record(
      { status: "ok", trigger, operations: result.applied, error: warnings.length > 0 ? warnings.join("; ") : undefined },
      true,
      { deleted: deal === null, contactId: deal?.snapshot.mainContact?.id ?? null, profileId: result.profileId, next: plan.nextState },
    );
    if (result.profileId && deal?.snapshot.mainContact && plan.nextState.email) {
      await rememberProfile(account.id, deal.snapshot.mainContact.id, plan.nextState.email, result.profileId);
    }
  } catch (error) {
    // Errors a person must act on (bad key, missing scope, revoked access): retrying cannot help.
    const final = !isRetryable(error);
    const status: SyncStatus = final || finalAttempt ? "failed" : "retrying";
    // A final error leaves the changes pending: fixing the cause and replaying the deal applies them.
    await record({ status, trigger, operations: [], error: errorMessage(error), errorCode: errorCodeOf(error) }, false);
    if (!final) throw error;
    context.log.warn({ leadId, err: error }, "deal sync failed; it needs a person");
  }
}

/** Lists that the contact's other deals put it in: this deal's moves must not take it out of them. */
async function listsOfOtherDeals(accountId: string, leadId: number, email: string | null): Promise<string[]> {
  if (!email) return [];
  const others = await db().deal.findMany({
    where: { accountId, email: { equals: email, mode: "insensitive" }, leadId: { not: leadId }, deletedAt: null },
    select: { listIds: true },
  });
  return [...new Set(others.flatMap((deal) => deal.listIds))];
}

async function rememberProfile(accountId: string, contactId: number, email: string, profileId: string) {
  await db().klaviyoProfileLink.upsert({
    where: { accountId_contactId: { accountId, contactId } },
    create: { accountId, contactId, email, klaviyoProfileId: profileId },
    update: { email, klaviyoProfileId: profileId },
  });
}

type DealStateUpdate = {
  deleted: boolean;
  contactId: number | null;
  profileId?: string | null;
  next?: { pipelineId: number | null; statusId: number | null; stageName: string | null; email: string | null; listIds: string[]; profileFingerprint: string | null };
};

async function saveDeal(
  tx: Pick<ReturnType<typeof db>, "deal">,
  accountId: string,
  leadId: number,
  outcome: Outcome,
  at: Date,
  state?: DealStateUpdate,
) {
  await tx.deal.update({
    where: { accountId_leadId: { accountId, leadId } },
    data: {
      lastSyncStatus: outcome.status,
      lastError: outcome.status === "ok" ? null : (outcome.error ?? null),
      ...(state && {
        deletedAt: state.deleted ? at : null,
        ...(state.contactId !== null && { mainContactId: state.contactId }),
      }),
      ...(state?.next && {
        pipelineId: state.next.pipelineId,
        statusId: state.next.statusId,
        stageName: state.next.stageName,
        email: state.next.email,
        listIds: state.next.listIds,
        profileFingerprint: state.next.profileFingerprint,
        klaviyoProfileId: state.profileId ?? undefined,
        lastSyncedAt: at,
      }),
    },
  });
}
