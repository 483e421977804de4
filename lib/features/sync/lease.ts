// One sync at a time per deal, across every worker: a lease on the deal's row. A worker that dies
// holding it loses it when it expires, as long as its job takes to be presumed dead
// (SYNC_JOB_TIMEOUT_SECONDS); a live one renews nothing because a sync takes seconds.
import { takeDealLease } from "@/lib/db/deals";
import { getEnv } from "@/lib/platform/env";

const WAIT_STEP_MS = 200;

export class LeaseBusyError extends Error {
  readonly retryable = true;
  constructor(leadId: number) {
    super(`another sync of lead ${leadId} is still running`);
    this.name = "LeaseBusyError";
  }
}

/** Wait (up to `waitMs`) for the deal's lease; throws LeaseBusyError (retryable) when it stays taken. */
export async function acquireDealLease(accountId: string, leadId: number, owner: string, waitMs = 30_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!(await takeDealLease(accountId, leadId, owner, getEnv().SYNC_JOB_TIMEOUT_SECONDS))) {
    if (Date.now() > deadline) throw new LeaseBusyError(leadId);
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
}

export { releaseDealLease } from "@/lib/db/deals";
