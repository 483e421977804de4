// Backfill runs as the widget and the install see them: start one (at most one queued or running
// per account), read the latest, and the run every new install gets. A run waits in "queued"
// until the account has a Klaviyo key; the minute tick (lib/features/schedule/account-tick.ts) starts it then.
import type { Account, BackfillRun } from "@/lib/db/client";
import { db, Prisma } from "@/lib/db/client";
import { OutcomeError } from "@/lib/outcomes";
import { enqueueBackfill } from "./backfill-job";
import type { BackfillScope } from "./scope";

export class BackfillConflictError extends OutcomeError {
  constructor(readonly run: BackfillRun) {
    super("backfill_running", "a backfill is already queued or running for this account; wait for it to finish");
  }
}

export class BackfillNotReadyError extends OutcomeError {
  constructor() {
    super("klaviyo_not_connected", "connect Klaviyo first: save a Klaviyo private API key in the settings, then start the import", { httpStatus: 422 });
  }
}

const ACTIVE = ["queued", "running"] as const;


/** Start a backfill from the widget. Throws BackfillConflictError / BackfillNotReadyError. */
export async function startBackfill(account: Pick<Account, "id">, scope: BackfillScope): Promise<BackfillRun> {
  const run = await db().$transaction(async (tx) => {
    // The account row's lock makes "is one running? no: create one" atomic between two clicks.
    const [locked] = await tx.$queryRaw<{ klaviyoApiKeyEnc: string | null }[]>`
      SELECT "klaviyoApiKeyEnc" FROM "Account" WHERE "id" = ${account.id}::uuid FOR UPDATE`;
    if (!locked?.klaviyoApiKeyEnc) throw new BackfillNotReadyError();
    const active = await tx.backfillRun.findFirst({ where: { accountId: account.id, status: { in: [...ACTIVE] } }, orderBy: { createdAt: "desc" } });
    if (active) throw new BackfillConflictError(active);
    return tx.backfillRun.create({ data: { accountId: account.id, status: "queued", scope: scope as Prisma.InputJsonObject } });
  });
  await enqueueBackfill(run.id);
  return run;
}

export function latestBackfill(accountId: string): Promise<BackfillRun | null> {
  return db().backfillRun.findFirst({ where: { accountId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
}

/**
 * After an install: import the account's existing deals, once. A reinstall of an account that
 * already had a run starts nothing (the admin can start another from the widget).
 */
export async function requestInitialBackfill(accountId: string): Promise<BackfillRun | null> {
  const run = await db().$transaction(async (tx) => {
    const [account] = await tx.$queryRaw<{ klaviyoApiKeyEnc: string | null }[]>`
      SELECT "klaviyoApiKeyEnc" FROM "Account" WHERE "id" = ${accountId}::uuid FOR UPDATE`;
    if (!account || (await tx.backfillRun.count({ where: { accountId } })) > 0) return null;
    return tx.backfillRun.create({ data: { accountId, status: "queued", scope: {} } });
  });
  const connected = run && (await db().account.findUnique({ where: { id: accountId }, select: { klaviyoApiKeyEnc: true } }))?.klaviyoApiKeyEnc;
  if (run && connected) await enqueueBackfill(run.id);
  return run;
}

/** Queue the account's runs that wait for Klaviyo (called when a Klaviyo key is saved). */
export async function startWaitingBackfills(accountId: string): Promise<void> {
  const waiting = await db().backfillRun.findMany({ where: { accountId, status: "queued" }, select: { id: true } });
  for (const run of waiting) await enqueueBackfill(run.id);
}
