// The minute tick (queue `account-tick`, pg-boss cron): which accounts are due for their
// email-activity poll and their reconciliation, and which backfills are waiting to start, as jobs.
// Per-account jobs carry the account (or run) id as singletonKey, so a tick never queues a second
// job next to one still waiting. Cron runs at minute granularity: polls happen every
// KLAVIYO_ACTIVITY_POLL_SECONDS, rounded up to the next minute.
import type PgBoss from "pg-boss";
import { db } from "@/lib/db/client";
import { getEnv } from "@/lib/platform/env";
import { backfillStallMs } from "@/lib/features/backfill/run";
import { reconcileDue } from "@/lib/features/reconcile/reconcile";
import { senderBoss } from "@/lib/jobs/boss";
import { QUEUES } from "@/lib/jobs/queues";
import type { JobHandler } from "@/lib/jobs/worker";

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
  const jobs: PgBoss.JobInsert[] = [];
  let activity = 0;
  let reconcile = 0;
  for (const account of accounts) {
    if (due(account.activityPolledAt, pollMs)) {
      jobs.push({ name: QUEUES.activityPoll.name, data: { accountId: account.id }, singletonKey: account.id });
      activity++;
    }
    if (reconcileDue(account.reconciledUntil, now)) {
      jobs.push({ name: QUEUES.reconcile.name, data: { accountId: account.id }, singletonKey: account.id });
      reconcile++;
    }
  }
  const backfills = await waitingBackfills(now);
  jobs.push(...backfills);
  if (jobs.length > 0) await (await senderBoss()).insert(jobs);
  return { activity, reconcile, backfill: backfills.length };
}

/**
 * Backfill jobs to queue: runs waiting for their first job (e.g. the install's, once Klaviyo is
 * connected) and running ones whose heartbeat stopped (their worker died): a new job takes over.
 */
async function waitingBackfills(now: Date): Promise<PgBoss.JobInsert[]> {
  const runs = await db().backfillRun.findMany({
    where: {
      account: { status: "installed", paused: false, klaviyoApiKeyEnc: { not: null } },
      OR: [{ status: "queued" }, { status: "running", updatedAt: { lt: new Date(now.getTime() - backfillStallMs()) } }],
    },
    select: { id: true },
  });
  return runs.map((run) => ({ name: QUEUES.backfill.name, data: { runId: run.id }, singletonKey: run.id }));
}

/** The tick's backfill part alone: queue the jobs of waiting and stalled runs. */
export async function resumeBackfills(now = new Date()): Promise<number> {
  const jobs = await waitingBackfills(now);
  if (jobs.length > 0) await (await senderBoss()).insert(jobs);
  return jobs.length;
}

export const handleAccountTickJob: JobHandler = async (_data, context) => {
  const result = await dispatchDueWork();
  if (result.activity + result.reconcile + result.backfill > 0) context.log.debug(result, "due account work queued");
};
