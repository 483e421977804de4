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
import { QUEUE_SCHEMA } from "@/lib/jobs/boss";
import { DEAD_LETTER_QUEUE } from "@/lib/jobs/queues";
import { KommoError } from "@/lib/integrations/kommo/errors";
import { registerCrmWebhook } from "@/lib/features/install/install";
import { enqueueLeadSyncs, enqueuePendingLeadSyncs } from "@/lib/features/sync/lead-jobs";
import { enqueuePendingDigitalPipelineActions } from "@/lib/features/digital-pipeline/pending";
import { inTransaction } from "@/lib/db/sql-pool";
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

/** Timestamps are UTC without a zone in these tables; compare and write them as such. */
const NOW_UTC = "(now() AT TIME ZONE 'UTC')";

/** Open failures (failed, not yet replayed or dismissed, not covered by a later sync) of the selection, as deals. */
const OPEN_FAILURE_LEADS = `
  SELECT DISTINCT s."leadId" FROM "SyncLog" s
  WHERE s."accountId" = $1::uuid AND s.status = 'failed' AND s.resolution IS NULL
    AND NOT EXISTS (SELECT 1 FROM "SyncLog" later WHERE later."accountId" = s."accountId" AND later."leadId" = s."leadId"
                    AND later."createdAt" > s."createdAt" AND later.status IN ('ok', 'skipped'))
    AND (($2::uuid[] IS NULL OR s.id = ANY($2::uuid[])) AND ($3::timestamptz IS NULL OR s."createdAt" >= ($3::timestamptz AT TIME ZONE 'UTC')))`;

const MARK_RESOLVED = `
  UPDATE "SyncLog" SET resolution = $3, "resolvedAt" = ${NOW_UTC}
  WHERE "accountId" = $1::uuid AND "leadId" = ANY($2::int[]) AND status = 'failed' AND resolution IS NULL`;

const DROP_DEAD_LETTERS = `
  DELETE FROM "${QUEUE_SCHEMA}".job
  WHERE name = '${DEAD_LETTER_QUEUE}' AND data->>'accountId' = $1 AND (data->>'leadId')::int = ANY($2::int[])`;

function selectionParams(accountId: string, selection: FailureSelection): [string, string[] | null, string | null] {
  return [accountId, selection.kind === "ids" ? selection.ids : null, selection.kind === "since" ? selection.since.toISOString() : null];
}

function refuseInactive(account: AuthorizedAccount, what: string) {
  if (account.status === "disconnected") throw new OperationRefusedError("account_disconnected", `Klaviyo Sync is uninstalled from this Kommo account; install it again before you ${what}.`);
  if (account.paused) throw new OperationRefusedError("account_paused", `Syncing is paused; resume it before you ${what}.`);
}

/** Enqueue the selected failed deals again; returns how many deals were queued. */
export async function replayFailures(account: AuthorizedAccount, selection: FailureSelection): Promise<{ deals: number }> {
  refuseInactive(account, "replay");
  const leadIds = await inTransaction(async (client, asBossDb) => {
    const { rows } = await client.query<{ leadId: number }>(OPEN_FAILURE_LEADS, selectionParams(account.id, selection));
    const ids = rows.map((row) => row.leadId);
    if (ids.length === 0) return ids;
    await client.query(MARK_RESOLVED, [account.id, ids, "replayed"]);
    await client.query(DROP_DEAD_LETTERS, [account.id, ids]);
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
  const leadIds = await inTransaction(async (client) => {
    const { rows } = await client.query<{ leadId: number }>(OPEN_FAILURE_LEADS, selectionParams(account.id, selection));
    const ids = rows.map((row) => row.leadId);
    if (ids.length === 0) return ids;
    await client.query(MARK_RESOLVED, [account.id, ids, "dismissed"]);
    await client.query(DROP_DEAD_LETTERS, [account.id, ids]);
    await client.query(
      `UPDATE "InboundEvent" SET "processedAt" = ${NOW_UTC} WHERE "accountId" = $1::uuid AND "leadId" = ANY($2::int[]) AND "processedAt" IS NULL`,
      [account.id, ids],
    );
    await client.query(
      `UPDATE "DigitalPipelineAction" SET "processedAt" = now() WHERE "accountId" = $1::uuid AND "leadId" = ANY($2::int[]) AND "processedAt" IS NULL`,
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
