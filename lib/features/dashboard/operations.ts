// What a person can do from the dashboard: replay failed deals, dismiss failures, pause and resume
// an account, register its Kommo webhook again. Each takes an AuthorizedAccount (access.ts) and
// works on that account's rows only.
//
// A failed sync leaves its deal's changes pending (lib/features/sync/sync-lead.ts), so a replay is the deal
// enqueued again: the job reads every pending change and applies the deal as it is in Kommo now.
// Replay and dismiss act per deal: every open failure of a chosen deal is marked, and the deal's
// dead letters in the queue are removed, in the same transaction as the enqueue.
import { z } from "zod";
import { db } from "@/lib/db/client";
import { dropDeadLetters } from "@/lib/jobs/queue-state";
import { KommoError } from "@/lib/integrations/kommo/errors";
import { registerCrmWebhook } from "@/lib/features/install/install";
import { enqueueLeadSyncs, enqueuePendingLeadSyncs } from "@/lib/features/sync/lead-jobs";
import { enqueuePendingDigitalPipelineActions } from "@/lib/features/digital-pipeline/pending";
import { inTransaction } from "@/lib/db/sql-pool";
import { dropPendingEventsOfLeads } from "@/lib/db/inbound-events";
import { leadsWithOpenFailures, resolveFailures, type FailureRows } from "@/lib/db/sync-log";
import { logger } from "@/lib/platform/log";
import { OutcomeError } from "@/lib/outcomes";
import type { AuthorizedAccount } from "./access";

export type RefusalCode = "account_disconnected" | "account_paused" | "kommo_reauth_required";

/** A request the account's state does not allow; the message says what to do instead. */
export class OperationRefusedError extends OutcomeError {
  declare readonly code: RefusalCode;
  constructor(code: RefusalCode, message: string) {
    super(code, message, { httpStatus: 409 });
  }
}

/** Which failures: these rows, every open one since a time, or every open one. */
export const failureSelectionSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("ids"), ids: z.array(z.uuid()).min(1, "select at least one failure").max(500) }),
  z.object({ kind: z.literal("since"), since: z.date() }),
  z.object({ kind: z.literal("all") }),
]);
export type FailureSelection = z.infer<typeof failureSelectionSchema>;

const selectedRows = (selection: FailureSelection): FailureRows => ({
  ids: selection.kind === "ids" ? selection.ids : null,
  since: selection.kind === "since" ? selection.since : null,
});

function refuseInactive(account: AuthorizedAccount, what: string) {
  if (account.status === "disconnected") throw new OperationRefusedError("account_disconnected", `Klaviyo Sync is uninstalled from this Kommo account; install it again before you ${what}.`);
  if (account.paused) throw new OperationRefusedError("account_paused", `Syncing is paused; resume it before you ${what}.`);
}

/** Enqueue the selected failed deals again; returns how many deals were queued. */
export async function replayFailures(account: AuthorizedAccount, selection: FailureSelection): Promise<{ deals: number }> {
  refuseInactive(account, "replay");
  const leadIds = await inTransaction(async (client, asBossDb) => {
    const ids = await leadsWithOpenFailures(client, account.id, selectedRows(selection));
    if (ids.length === 0) return ids;
    await resolveFailures(client, account.id, ids, "replayed");
    await dropDeadLetters(asBossDb, account.id, ids);
    await enqueueLeadSyncs(account.id, ids, asBossDb);
    return ids;
  });
  // Their Digital Pipeline actions that did not go through go again too.
  if (leadIds.length > 0) await enqueuePendingDigitalPipelineActions(account.id, leadIds);
  logger().info({ accountId: account.id, deals: leadIds.length }, "failed deals replayed from the dashboard");
  return { deals: leadIds.length };
}

/**
 * Stop retrying the selected failed deals: their failures are marked dismissed and the changes
 * they were carrying are dropped, so a deal syncs again at its next change in Kommo.
 */
export async function dismissFailures(account: AuthorizedAccount, selection: FailureSelection): Promise<{ deals: number }> {
  const leadIds = await inTransaction(async (client, asBossDb) => {
    const ids = await leadsWithOpenFailures(client, account.id, selectedRows(selection));
    if (ids.length === 0) return ids;
    await resolveFailures(client, account.id, ids, "dismissed");
    await dropDeadLetters(asBossDb, account.id, ids);
    await dropPendingEventsOfLeads(client, account.id, ids);
    // The deal's Digital Pipeline actions waiting for a sync go with its changes. Raw SQL: this runs
    // on the transaction's node-postgres client that also drops the dead letters.
    await client.query(
      `UPDATE "DigitalPipelineAction" SET "processedAt" = now() WHERE "accountId" = $1::uuid AND "leadId" = ANY($2::bigint[]) AND "processedAt" IS NULL`,
      [account.id, ids],
    );
    return ids;
  });
  logger().info({ accountId: account.id, deals: leadIds.length }, "failed deals dismissed from the dashboard");
  return { deals: leadIds.length };
}

/** Pause keeps every change for later; resume enqueues the deals that changed meanwhile. */
export async function setPaused(account: AuthorizedAccount, paused: boolean): Promise<{ queued: number }> {
  if (account.status === "disconnected") throw new OperationRefusedError("account_disconnected", "Klaviyo Sync is uninstalled from this Kommo account; there is nothing to pause or resume.");
  await db().account.update({ where: { id: account.id }, data: { paused } });
  const queued = paused ? 0 : await enqueuePendingLeadSyncs(account.id);
  if (!paused) await enqueuePendingDigitalPipelineActions(account.id);
  logger().info({ accountId: account.id, paused, queued }, paused ? "account paused from the dashboard" : "account resumed from the dashboard");
  return { queued };
}

export type WebhookOutcome = { registered: true } | { registered: false; reason: string };

/** Ask Kommo to send deal changes again (the webhook may have been deleted or disabled in Kommo). */
export async function reregisterWebhook(account: AuthorizedAccount): Promise<WebhookOutcome> {
  if (account.status !== "installed") {
    throw new OperationRefusedError("kommo_reauth_required", "Kommo access has to be granted again first: a Kommo administrator reinstalls Klaviyo Sync.");
  }
  try {
    if (await registerCrmWebhook(account.id)) {
      // For an installed account the only stored reason is an earlier webhook refusal.
      await db().account.updateMany({ where: { id: account.id, status: "installed" }, data: { statusReason: null } });
      return { registered: true };
    }
    const { statusReason } = await db().account.findUniqueOrThrow({ where: { id: account.id }, select: { statusReason: true } });
    return { registered: false, reason: statusReason ?? "Kommo did not accept the webhook" };
  } catch (error) {
    if (!(error instanceof KommoError && error.retryable)) throw error;
    return { registered: false, reason: "Kommo could not be reached just now; try again in a minute." };
  }
}
