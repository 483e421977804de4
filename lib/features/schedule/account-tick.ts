// The minute tick (queue `account-tick`, pg-boss cron): which accounts are due for their
// reconciliation or their daily read of the Kommo account's language and time zone, which backfills
// are waiting to start, and which email-activity poll chains are
// missing (a new account, a worker killed between a poll and the queueing of the next), as jobs.
// Polls themselves run at their own due time (see activity/poll.ts); the tick only re-seeds.
// Per-account jobs carry the account (or run) id as singletonKey, so a tick never queues a second
// job next to one still waiting.
import { z } from "zod";
import { db } from "@/lib/db/client";
import { getEnv } from "@/lib/platform/env";
import { activityPollJob, nextPollAt } from "@/lib/features/activity/poll";
import { backfillJob } from "@/lib/features/backfill/backfill-job";
import { backfillStallMs } from "@/lib/features/backfill/run";
import { reconcileDue, reconcileJob } from "@/lib/features/reconcile/reconcile";
import { accountLocaleJob, localeDue } from "@/lib/features/install/account-locale";
import { defineJob } from "@/lib/jobs/define-job";

/** A poll chain is presumed broken when the account was not polled for an interval and this long. */
export const POLL_CHAIN_GRACE_MS = 60_000;

export type TickResult = { activity: number; reconcile: number; backfill: number; locale: number };

export async function dispatchDueWork(now = new Date()): Promise<TickResult> {
  const pollMs = getEnv().KLAVIYO_ACTIVITY_POLL_SECONDS * 1000;
  const accounts = await db().account.findMany({
    where: { status: "installed", paused: false, klaviyoApiKeyEnc: { not: null } },
    select: { id: true, activityPolledAt: true, reconciledUntil: true, kommoSettingsReadAt: true },
  });
  // A chain that is alive keeps activityPolledAt within one interval; the others get a poll now.
  const polls = accounts
    .filter((account) => !account.activityPolledAt || now.getTime() - account.activityPolledAt.getTime() >= pollMs + POLL_CHAIN_GRACE_MS)
    .map((account) => ({ payload: { accountId: account.id }, singletonKey: account.id, startAfter: nextPollAt(account.activityPolledAt ?? now, now) }));
  const reconciles = accounts.filter((account) => reconcileDue(account.reconciledUntil, now)).map((account) => ({ payload: { accountId: account.id }, singletonKey: account.id }));
  const locales = accounts.filter((account) => localeDue(account.kommoSettingsReadAt, now)).map((account) => ({ payload: { accountId: account.id }, singletonKey: account.id }));
  await activityPollJob.sendMany(polls);
  await reconcileJob.sendMany(reconciles);
  await accountLocaleJob.sendMany(locales);
  const backfills = await resumeBackfills(now);
  return { activity: polls.length, reconcile: reconciles.length, backfill: backfills, locale: locales.length };
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
    if (result.activity + result.reconcile + result.backfill + result.locale > 0) context.log.debug(result, "due account work queued");
  },
});
