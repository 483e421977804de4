// The sync job of one Kommo lead: every change recorded for it since the last sync, applied to
// Klaviyo in one pass, then the deal's new state and a sync-log row. A burst of webhooks for one
// lead becomes one job (the queue keeps one queued job per lead) and one pass here.
import { z } from "zod";
import { db, type Account, type SyncStatus } from "@/lib/db/client";
import { listsOfOtherDeals, saveSyncOutcome, type DealState, type DealSyncRecord } from "@/lib/db/deals";
import { insertInboundEvents, pendingEventsOfLead } from "@/lib/db/inbound-events";
import { inTransaction } from "@/lib/db/sql-pool";
import { defineJob, type JobContext } from "@/lib/jobs/define-job";
import { DEAD_LETTER_QUEUE } from "@/lib/jobs/queues";
import { syncJobTimeoutSeconds } from "@/lib/platform/env";
import type { KlaviyoClient } from "@/lib/integrations/klaviyo";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import { kommoIdSchema } from "@/lib/integrations/kommo/ids";
import { errorCodeOf, isRetryable, SKIP_REASONS, type SkipReason } from "@/lib/outcomes";
import { loadSettings } from "@/lib/features/settings/account-settings";
import type { ConsentSettings } from "@/lib/features/settings/settings";
import { observeOptInBox } from "@/lib/features/consent/opt-in";
import { applyOperations } from "./apply";
import { finishedAttempt, type AttemptOutcome } from "./attempt";
import { changesFromEvents } from "./changes";
import { readDeal, type DealRead } from "./deal-reader";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";
import { withDealLease, type HeldLease } from "./lease";
import { mapDealToKlaviyo, type MappingResult, type PreviousDealState } from "./mapping";

export const syncLeadJobSchema = z.object({
  accountId: z.uuid(),
  leadId: kommoIdSchema,
  /** A re-check after a Klaviyo write that timed out (see scheduleRecheck): re-send the deal as it is. */
  recheck: z.literal(true).optional(),
});

/**
 * A Klaviyo write that timed out may still be applied by Klaviyo afterwards, later than a newer
 * write of the same profile, which it would then overwrite with an older stage. So the deal is
 * re-sent, profile included, this long after such a sync: by then a late request has landed, and
 * the last write Klaviyo applies is the current one.
 */
export const RECHECK_AFTER_SECONDS = 30;

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

type Outcome = AttemptOutcome & { trigger: string };

const skipSentence = (reason: SkipReason, detail?: string) => (detail ? `${SKIP_REASONS[reason]}: ${detail}` : SKIP_REASONS[reason]);

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function runSyncLeadJob(job: z.infer<typeof syncLeadJobSchema>, context: JobContext): Promise<void> {
  return withDealLease(job.accountId, job.leadId, context.id, async (account, stored, lease) => {
    if (job.recheck) await recordRecheck(account.id, job.leadId, context.id);
    await syncLead(account, job.leadId, stored, lease, context);
  });
}

/** The re-check is a change of its own (kind "recheck"), recorded once however often its job runs. */
async function recordRecheck(accountId: string, leadId: number, jobId: string): Promise<void> {
  await inTransaction((client) =>
    insertInboundEvents(client, accountId, "reconciliation", [
      { kind: "recheck", leadId, contactId: null, changedAt: null, payload: {}, dedupeKey: `recheck:${leadId}:${jobId}` },
    ]),
  );
}

/** Queued beside the lead's ordinary sync (its own singleton key), so new changes do not wait for it. */
async function scheduleRecheck(accountId: string, leadId: number): Promise<void> {
  await syncLeadJob.send({ accountId, leadId, recheck: true }, { singletonKey: `${accountId}:${leadId}:recheck`, startAfter: RECHECK_AFTER_SECONDS });
}

/**
 * `stored`: the deal as we last synced it (its lease read it). The outcome's statement releases the
 * lease too when nothing after it writes for the deal (the profile link, the opt-in box).
 */
async function syncLead(account: Account, leadId: number, stored: DealState, lease: HeldLease, context: JobContext): Promise<void> {
  const startedAt = new Date();
  const pending = await pendingEventsOfLead(account.id, leadId);
  // Already covered by an earlier job of this lead (coalesced burst).
  if (pending.length === 0) return;
  const trigger = [...new Set(pending.map((event) => event.kind))].join(",");
  const attempt = context.retryCount + 1;
  const finalAttempt = context.retryCount >= context.retryLimit;

  // Clients are created inside the try (creating them can fail: no key, revoked access), and their
  // call counts are read whenever a row is written, so a failed attempt shows what it cost too.
  let kommo: KommoClient | undefined;
  let klaviyo: KlaviyoClient | undefined;
  const record = async (outcome: Outcome, processed: boolean, deal: DealSyncRecord, lastWrite: boolean) => {
    await saveSyncOutcome(
      finishedAttempt({ accountId: account.id, leadId, trigger: outcome.trigger, attempt, jobId: context.id, startedAt, kommo, klaviyo }, outcome),
      processed ? pending.map((event) => event.id) : [],
      deal,
      lastWrite ? lease.owner : null,
    );
    if (lastWrite) lease.released = true;
  };

  try {
    const settings = await loadSettings(account);
    klaviyo = klaviyoClientFor(account);
    kommo = await kommoClientFor(account.id, undefined, { account });
    // A contact change, or a person's "Sync now", reads the contact from Kommo rather than our cache.
    const freshContact = pending.some((event) => event.kind === "update_contact" || event.kind === "sync_now");
    const freshCompany = pending.some((event) => event.kind === "sync_now");
    const deal = await readDeal(account.id, kommo, leadId, { freshContact, freshCompany });
    const previous: PreviousDealState | null =
      stored.lastSyncedAt
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
    const email = deal?.snapshot.mainContact?.emails[0] ?? stored.email ?? null;
    const keepListIds = email ? await listsOfOtherDeals(account.id, leadId, email) : [];
    const plan: MappingResult = mapDealToKlaviyo({
      account: { kommoAccountId: account.kommoAccountId, host: account.host, currency: account.currency, country: account.country },
      deal: deal?.snapshot ?? null,
      changes: changesFromEvents(pending, deal?.stageName ?? (() => null)),
      previous,
      settings,
      keepListIds,
      options: { force: pending.some((event) => event.kind === "sync_now" || event.kind === "recheck") },
    });

    if ("skip" in plan) {
      await record(
        { status: "skipped", trigger, operations: [], error: [skipSentence(plan.skip, plan.detail), ...plan.warnings].join("; "), errorCode: plan.skip },
        true,
        { seen: { deleted: deal === null, contactId: deal?.snapshot.mainContact?.id ?? null } },
        !observesOptIn(settings.consent, deal),
      );
      context.log.info({ leadId, reason: plan.skip }, "deal skipped");
      await observeOptInOf(account, settings.consent, deal, context);
      return;
    }

    const result = await applyOperations(klaviyo, plan.operations, previous?.profileId ?? null);
    const warnings = [...plan.warnings, ...result.ignoredIdentifiers.map((identifier) => `Klaviyo kept the profile without its ${identifier}`)];
    const contactId = deal?.snapshot.mainContact?.id;
    // The contact's link to its profile, unless the last sync of this deal wrote the same one.
    const linkedBefore = stored.lastSyncedAt && stored.mainContactId === contactId && stored.email === plan.nextState.email && stored.klaviyoProfileId === result.profileId;
    const link = result.profileId && contactId !== undefined && plan.nextState.email && !linkedBefore ? { contactId, email: plan.nextState.email, profileId: result.profileId } : null;
    await record(
      { status: "ok", trigger, operations: result.applied, error: warnings.length > 0 ? warnings.join("; ") : undefined },
      true,
      { seen: { deleted: deal === null, contactId: contactId ?? null }, applied: { ...plan.nextState, profileId: result.profileId } },
      !link && !observesOptIn(settings.consent, deal),
    );
    if (link) await rememberProfile(account.id, link.contactId, link.email, link.profileId);
    await observeOptInOf(account, settings.consent, deal, context);
  } catch (error) {
    // Errors a person must act on (bad key, missing scope, revoked access): retrying cannot help.
    const final = !isRetryable(error);
    const status: SyncStatus = final || finalAttempt ? "failed" : "retrying";
    // A final error leaves the changes pending: fixing the cause and replaying the deal applies them.
    await record({ status, trigger, operations: [], error: errorMessage(error), errorCode: errorCodeOf(error) }, false, {}, true);
    if (!final) throw error;
    context.log.warn({ leadId, err: error }, "deal sync failed; it needs a person");
  } finally {
    if (klaviyo && klaviyo.unansweredWrites > 0) {
      context.log.info({ leadId, unansweredWrites: klaviyo.unansweredWrites }, "a Klaviyo write timed out; the deal is re-checked later");
      await scheduleRecheck(account.id, leadId);
    }
  }
}

/** Whether observeOptInOf has work for this read of the deal (so the sync's outcome is not its last write). */
function observesOptIn(consent: ConsentSettings, deal: DealRead | null): boolean {
  const contact = deal?.mainContactFromKommo;
  return Boolean(contact && !contact.is_deleted && consent.optInFieldId !== null);
}

/**
 * The main contact's opt-in box, when this sync read the contact from Kommo (a cached contact says
 * nothing of the box). Called after the deal's own sync is recorded, and a failure is logged rather
 * than thrown: the deal's changes are already marked processed, so a retried job would find nothing
 * to do. observeOptInBox gives its claim back when Klaviyo fails, so the next contact webhook or sync
 * that reads the contact subscribes.
 */
async function observeOptInOf(account: Account, consent: ConsentSettings, deal: DealRead | null, context: JobContext): Promise<void> {
  const contact = deal?.mainContactFromKommo;
  if (!contact || !observesOptIn(consent, deal)) return;
  try {
    await observeOptInBox(account, consent, contact, () => klaviyoClientFor(account));
  } catch (error) {
    context.log.warn({ contactId: contact.id, err: error }, "opt-in box not acted on; the next read of the contact tries again");
  }
}

async function rememberProfile(accountId: string, contactId: number, email: string, profileId: string) {
  await db().klaviyoProfileLink.upsert({
    where: { accountId_contactId: { accountId, contactId } },
    create: { accountId, contactId, email, klaviyoProfileId: profileId },
    update: { email, klaviyoProfileId: profileId },
  });
}
