// One sync at a time per deal, across every worker: a lease on the deal's row. A worker that dies
// holding it loses it when it expires, as long as its job takes to be presumed dead
// (SYNC_JOB_TIMEOUT_SECONDS); a live one renews nothing because a sync takes seconds.
import { randomUUID } from "node:crypto";
import type { Account } from "@/lib/db/client";
import { releaseDealLease, takeDealLease, type DealState } from "@/lib/db/deals";
import { getEnv } from "@/lib/platform/env";

const WAIT_STEP_MS = 200;

export class LeaseBusyError extends Error {
  readonly retryable = true;
  constructor(leadId: number) {
    super(`another sync of lead ${leadId} is still running`);
    this.name = "LeaseBusyError";
  }
}

/** A lease being held: its owner, and whether a write of the holder already released it. */
export type HeldLease = { readonly owner: string; released: boolean };

/**
 * Run `work` for the account while holding the deal's lease (a sync, a Digital Pipeline action: a
 * profile write of one deal never interleaves with another), waiting up to `waitMs` for it; throws
 * LeaseBusyError (retryable) when it stays taken. Nothing runs for an account that is gone,
 * disconnected (its data is deleted) or paused (its work waits for the resume). The lease is
 * released at the end unless `work` released it with its last write (saveSyncOutcome).
 */
export async function withDealLease(
  accountId: string,
  leadId: number,
  jobId: string,
  work: (account: Account, deal: DealState, lease: HeldLease) => Promise<void>,
  waitMs = 30_000,
): Promise<void> {
  const lease: HeldLease = { owner: `${jobId}:${randomUUID()}`, released: false };
  const deadline = Date.now() + waitMs;
  let taken: { account: Account; deal: DealState };
  for (;;) {
    const { account, deal } = await takeDealLease(accountId, leadId, lease.owner, getEnv().SYNC_JOB_TIMEOUT_SECONDS);
    if (!account || account.status === "disconnected" || account.paused) return;
    if (deal) {
      taken = { account, deal };
      break;
    }
    if (Date.now() > deadline) throw new LeaseBusyError(leadId);
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
  try {
    await work(taken.account, taken.deal, lease);
  } finally {
    if (!lease.released) await releaseDealLease(accountId, leadId, lease.owner);
  }
}
