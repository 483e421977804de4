// The minute tick (queue `account-tick`, pg-boss cron): which accounts are due for their
// email-activity poll and their reconciliation, and which backfills are waiting to start, as jobs.
// Per-account jobs carry the account (or run) id as singletonKey, so a tick never queues a second
// job next to one still waiting. Cron runs at minute granularity: polls happen every
// KLAVIYO_ACTIVITY_POLL_SECONDS, rounded up to the next minute.
import { z } from "zod";
import { db } from "@/lib/db/client";
import { getEnv } from "@/lib/platform/env";
import { activityPollJob } from "@/lib/features/activity/poll";
import { backfillJob } from "@/lib/features/backfill/backfill-job";
import { backfillStallMs } from "@/lib/features/backfill/run";
import { reconcileDue, reconcileJob } from "@/lib/features/reconcile/reconcile";
import { defineJob } from "@/lib/jobs/define-job";

/** Due a little early rather than a whole tick late. */
const TICK_SLACK_MS = 5_000;

export type TickResult = { activity: number; reconcile: number; backfill: number };

export async function dispatchDueWork(now = new Date()): Promise<TickResult> {
  const pollMs = getEnv().KLAVIYO_ACTIVITY_POLL_SECONDS * 1000;
  const accounts = await db().account.findMany({
    where: { status: "installed", paused: false, klaviyoApiKeyEnc: { not: null } },
    select: { id: true, activityPolledAt: true, reconciledUntil: true },
  });
  const due = (last: Date | null, everyMs: number) => !last || now.getTime() - last.getTime() >= everyMs - TICK_SLACK_MS;
  const polls = accounts.filter((account) => due(account.activityPolledAt, pollMs)).map((account) => ({ payload: { accountId: account.id }, singletonKey: account.id }));
  const reconciles = accounts.filter((account) => reconcileDue(account.reconciledUntil, now)).map((account) => ({ payload: { accountId: account.id }, singletonKey: account.id }));
  await activityPollJob.sendMany(polls);
  await reconcileJob.sendMany(reconciles);
  const backfills = await resumeBackfills(now);
  return { activity: polls.length, reconcile: reconciles.length, backfill: backfills };
}

/**
 * Backfill jobs to queue: runs waiting for their first job (e.g. the install's, once Klaviyo is
 * connected) and running ones whose heartbeat stopped (their worker died): a new job takes over.
 */
async function waitingBackfills(now: Date): Promise<{ payload: { runId: string }; singletonKey: string }[]> {
  const runs = await db().backfillRun.findMany({
    where: {
      account: { status: "installed", paused: false, klaviyoApiKeyEnc: { not: null } },
      OR: [{ status: "queued" }, { status: "running", updatedAt: { lt: new Date(now.getTime() - backfillStallMs()) } }],
    },
    select: { id: true },
  });
  return runs.map((run) => ({ payload: { runId: run.id }, singletonKey: run.id }));
}

/** The tick's backfill part alone: queue the jobs of waiting and stalled runs. */
export async function resumeBackfills(now = new Date()): Promise<number> {
  const jobs = await waitingBackfills(now);
  await backfillJob.sendMany(jobs);
  return jobs.length;
}

/**
 * Every minute: find the accounts whose email-activity poll or reconciliation is due and the
 * backfills waiting to start, and enqueue their jobs. One tick at a time (policy "short").
 */
export const accountTickJob = defineJob({
  name: "account-tick",
  payload: z.object({}),
  queue: { policy: "short", retryLimit: 0, expireInSeconds: 120 },
  concurrency: 1,
  cron: "* * * * *",
  run: async (_payload, context) => {
    const result = await dispatchDueWork();
    if (result.activity + result.reconcile + result.backfill > 0) context.log.debug(result, "due account work queued");
  },
});
