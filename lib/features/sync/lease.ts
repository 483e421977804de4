// One sync at a time per deal, across every worker: a lease on the deal's row. A worker that dies
// holding it loses it when it expires, as long as its job takes to be presumed dead
// (SYNC_JOB_TIMEOUT_SECONDS); a live one renews nothing because a sync takes seconds.
import { db } from "@/lib/db/client";
import { getEnv } from "@/lib/platform/env";

const WAIT_STEP_MS = 200;

export class LeaseBusyError extends Error {
  readonly retryable = true;
  constructor(leadId: number) {
    super(`another sync of lead ${leadId} is still running`);
    this.name = "LeaseBusyError";
  }
}

async function tryAcquire(accountId: string, leadId: number, owner: string): Promise<boolean> {
  const rows = await db().$queryRaw<{ id: string }[]>`
    INSERT INTO "Deal" ("id", "accountId", "leadId", "syncLeaseOwner", "syncLeaseUntil", "createdAt", "updatedAt")
    VALUES (gen_random_uuid(), ${accountId}::uuid, ${leadId}, ${owner}, now() + make_interval(secs => ${getEnv().SYNC_JOB_TIMEOUT_SECONDS}), now(), now())
    ON CONFLICT ("accountId", "leadId") DO UPDATE
      SET "syncLeaseOwner" = EXCLUDED."syncLeaseOwner", "syncLeaseUntil" = EXCLUDED."syncLeaseUntil"
      WHERE "Deal"."syncLeaseUntil" IS NULL OR "Deal"."syncLeaseUntil" < now() OR "Deal"."syncLeaseOwner" = ${owner}
    RETURNING "id"`;
  return rows.length > 0;
}

/** Wait (up to `waitMs`) for the deal's lease; throws LeaseBusyError (retryable) when it stays taken. */
export async function acquireDealLease(accountId: string, leadId: number, owner: string, waitMs = 30_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!(await tryAcquire(accountId, leadId, owner))) {
    if (Date.now() > deadline) throw new LeaseBusyError(leadId);
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
}

export async function releaseDealLease(accountId: string, leadId: number, owner: string): Promise<void> {
  await db().deal.updateMany({
    where: { accountId, leadId, syncLeaseOwner: owner },
    data: { syncLeaseOwner: null, syncLeaseUntil: null },
  });
}
