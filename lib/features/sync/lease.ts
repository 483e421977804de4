// One sync at a time per deal, across every worker: a lease on the deal's row. A worker that dies
// holding it loses it when it expires, as long as its job takes to be presumed dead
// (SYNC_JOB_TIMEOUT_SECONDS); a live one renews nothing because a sync takes seconds.
import { randomUUID } from "node:crypto";
import { accountById } from "@/lib/db/accounts";
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

/**
 * Wait (up to `waitMs`) for the deal's lease; throws LeaseBusyError (retryable) when it stays taken.
 * Resolves to the deal's state as the lease found it.
 */
export async function acquireDealLease(accountId: string, leadId: number, owner: string, waitMs = 30_000): Promise<DealState> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const deal = await takeDealLease(accountId, leadId, owner, getEnv().SYNC_JOB_TIMEOUT_SECONDS);
    if (deal) return deal;
    if (Date.now() > deadline) throw new LeaseBusyError(leadId);
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
}

/**
 * Run `work` for the account while holding the deal's lease (a sync, a Digital Pipeline action: a
 * profile write of one deal never interleaves with another). Nothing runs for an account that is
 * gone, disconnected (its data is deleted) or paused (its work waits for the resume).
 */
export async function withDealLease(
  accountId: string,
  leadId: number,
  jobId: string,
  work: (account: Account, deal: DealState) => Promise<void>,
): Promise<void> {
  const account = await accountById(accountId);
  if (!account || account.status === "disconnected" || account.paused) return;
  const owner = `${jobId}:${randomUUID()}`;
  const deal = await acquireDealLease(account.id, leadId, owner);
  try {
    await work(account, deal);
  } finally {
    await releaseDealLease(account.id, leadId, owner);
  }
}
