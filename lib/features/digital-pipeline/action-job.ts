// The job of one Digital Pipeline "Send to Klaviyo" action: read the lead and its main contact as a
// sync does (the contact cache applies), upsert the profile, add it to the action's list, send the
// admin's event, and say on the deal what was sent. Retries, dead letter and the sync log work as
// for a sync; each step that must happen once (the event, the note) is marked on the action's row,
// so a retry after a part-way failure repeats neither.
import { z } from "zod";
import { db, numberIds, type Account, type DigitalPipelineAction, type NumberIds, type SyncStatus } from "@/lib/db/client";
import { recordSyncAttempt } from "@/lib/db/sync-log";
import { defineJob, type JobContext } from "@/lib/jobs/define-job";
import { DEAD_LETTER_QUEUE } from "@/lib/jobs/queues";
import { syncJobTimeoutSeconds } from "@/lib/platform/env";
import type { KlaviyoClient } from "@/lib/integrations/klaviyo";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import { errorCodeOf, isRetryable, SKIP_REASONS } from "@/lib/outcomes";
import { applyOperations, type AppliedOperation } from "@/lib/features/sync/apply";
import { readDeal } from "@/lib/features/sync/deal-reader";
import { finishedAttempt, type AttemptOutcome } from "@/lib/features/sync/attempt";
import { withDealLease } from "@/lib/features/sync/lease";
import { LOST_STATUS_ID, WON_STATUS_ID } from "@/lib/features/sync/mapping";
import { mapDigitalPipelineAction } from "./mapping";
import { digitalPipelineTrigger } from "./trigger";


/** The lead id rides along so that the dashboard's replay and dismiss find the job as a sync's. */
export const digitalPipelineJobSchema = z.object({ accountId: z.uuid(), leadId: z.number().int().positive(), actionId: z.uuid() });

/** The same retry policy as a deal's sync (see sync-lead.ts): a day-long outage loses nothing. */
export const digitalPipelineJob = defineJob({
  name: "digital-pipeline-action",
  payload: digitalPipelineJobSchema,
  queue: { policy: "standard", retryLimit: 15, retryDelay: 5, retryBackoff: true, deadLetter: DEAD_LETTER_QUEUE },
  expireInSeconds: syncJobTimeoutSeconds,
  run: (payload, context) => runDigitalPipelineJob(payload, context),
});

type Outcome = AttemptOutcome;

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function runDigitalPipelineJob(job: z.infer<typeof digitalPipelineJobSchema>, context: JobContext): Promise<void> {
  const actionRow = await db().digitalPipelineAction.findFirst({ where: { id: job.actionId, accountId: job.accountId } });
  const action = actionRow && numberIds(actionRow);
  if (!action || action.processedAt) return;
  await withDealLease(job.accountId, action.leadId, context.id, (account) => act(account, action, context));
}

const stageLabel = (statusId: number | null, name: string | null) =>
  statusId === WON_STATUS_ID ? "Won" : statusId === LOST_STATUS_ID ? "Lost" : name;

/** The note on the deal: what was sent, to whom. */
export function actionNoteText(eventName: string, email: string, listName: string | null): string {
  const list = listName ? ` and added the profile to the list ${listName}` : "";
  return `Klaviyo: sent the event "${eventName}" for ${email}${list} (Digital Pipeline action).`;
}

async function act(account: Account, action: NumberIds<DigitalPipelineAction>, context: JobContext): Promise<void> {
  const startedAt = new Date();
  const attempt = context.retryCount + 1;
  const finalAttempt = context.retryCount >= context.retryLimit;
  let kommo: KommoClient | undefined;
  let klaviyo: KlaviyoClient | undefined;
  const record = async (outcome: Outcome, processed: boolean) => {
    const trigger = digitalPipelineTrigger(action.eventName);
    const row = finishedAttempt({ accountId: account.id, leadId: action.leadId, trigger, attempt, jobId: context.id, startedAt, kommo, klaviyo }, outcome);
    await db().$transaction(async (tx) => {
      await recordSyncAttempt(row, tx);
      if (processed) await tx.digitalPipelineAction.update({ where: { id: action.id }, data: { processedAt: row.finishedAt } });
    });
  };

  try {
    klaviyo = klaviyoClientFor(account);
    kommo = await kommoClientFor(account.id, undefined, { account });
    const deal = await readDeal(account.id, kommo, action.leadId);
    const stageName =
      action.statusId === null
        ? null
        : stageLabel(action.statusId, deal?.stageName(action.pipelineId ?? deal.snapshot.lead.pipelineId, action.statusId) ?? null);
    const plan = mapDigitalPipelineAction(
      { kommoAccountId: account.kommoAccountId, host: account.host, currency: account.currency, country: account.country },
      deal?.snapshot ?? null,
      {
        leadId: action.leadId,
        statusId: action.statusId,
        time: Math.floor(action.eventTime.getTime() / 1000),
        eventName: action.eventName,
        listId: action.listId,
        stageName,
      },
    );
    if ("skip" in plan) {
      const sentence = plan.detail ? `${SKIP_REASONS[plan.skip]}: ${plan.detail}` : SKIP_REASONS[plan.skip];
      await record({ status: "skipped", operations: [], error: [sentence, ...plan.warnings].join("; "), errorCode: plan.skip }, true);
      context.log.info({ leadId: action.leadId, reason: plan.skip }, "Digital Pipeline action skipped");
      return;
    }

    let applied: AppliedOperation[] = [];
    if (!action.eventSentAt) {
      const result = await applyOperations(klaviyo, plan.operations, null);
      applied = result.applied;
      plan.warnings.push(...result.ignoredIdentifiers.map((identifier) => `Klaviyo kept the profile without its ${identifier}`));
      await db().digitalPipelineAction.update({ where: { id: action.id }, data: { eventSentAt: new Date() } });
    }
    if (!action.notedAt) {
      const listName = action.listId ? ((await klaviyo.getLists()).find((list) => list.id === action.listId)?.name ?? action.listId) : null;
      await kommo.addLeadNotes([
        { leadId: action.leadId, noteType: "service_message", service: "Klaviyo Sync", text: actionNoteText(action.eventName, plan.email, listName) },
      ]);
      await db().digitalPipelineAction.update({ where: { id: action.id }, data: { notedAt: new Date() } });
    }
    await record({ status: "ok", operations: applied, error: plan.warnings.length > 0 ? plan.warnings.join("; ") : undefined }, true);
  } catch (error) {
    const final = !isRetryable(error);
    const status: SyncStatus = final || finalAttempt ? "failed" : "retrying";
    await record({ status, operations: [], error: errorMessage(error), errorCode: errorCodeOf(error) }, false);
    if (!final) throw error;
    context.log.warn({ leadId: action.leadId, err: error }, "Digital Pipeline action failed; it needs a person");
  }
}
