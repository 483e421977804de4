// Key rotation, second half: re-seal every stored secret that an older ENCRYPTION_KEY sealed, so
// that the old key can leave ENCRYPTION_PREVIOUS_KEYS. Used by `npm run secrets:reseal`.
//
// Accounts are walked in id order, a batch at a time. Each account that holds an old envelope is
// locked (the row lock a token refresh and the revoke hook take, so neither interleaves), its old
// envelopes are opened and sealed again with the current key, and only those columns are written.
// Running it again finds nothing to do. Counts only: a secret or an envelope is never printed.
import { db } from "@/lib/db/client";
import { decryptSecret, encryptSecret, isSealedWithOldKey } from "@/lib/platform/crypto";
import { klaviyoKeyContext } from "@/lib/integrations/klaviyo/account-client";
import { tokenContext } from "@/lib/integrations/kommo/tokens";

/** Every sealed column, with the context its envelopes are bound to. */
export const SEALED_COLUMNS = [
  { column: "accessTokenEnc", label: "Kommo access tokens", context: (accountId: string) => tokenContext(accountId, "access_token") },
  { column: "refreshTokenEnc", label: "Kommo refresh tokens", context: (accountId: string) => tokenContext(accountId, "refresh_token") },
  { column: "klaviyoApiKeyEnc", label: "Klaviyo API keys", context: klaviyoKeyContext },
] as const;

type SealedColumn = (typeof SEALED_COLUMNS)[number]["column"];
type SealedRow = { id: string } & Record<SealedColumn, string | null>;

export type ResealReport = {
  /** Accounts looked at. */
  accounts: number;
  /** Envelopes re-sealed, per column label. */
  resealed: Record<string, number>;
  /** Envelopes already sealed with the current key. */
  current: number;
  /** Envelopes that would not open (a key missing from ENCRYPTION_PREVIOUS_KEYS, or damaged): left as they are. */
  failed: { accountId: string; column: SealedColumn; reason: string }[];
};

const selectSealed = { id: true, accessTokenEnc: true, refreshTokenEnc: true, klaviyoApiKeyEnc: true } as const;

const isOld = (value: string | null): value is string => value !== null && isSealedWithOldKey(value);

/** Re-seal one account's old envelopes under its row lock; returns what it did. */
async function resealAccount(accountId: string, report: ResealReport): Promise<void> {
  const failures: ResealReport["failed"] = [];
  const done = await db().$transaction(async (tx) => {
    await tx.$queryRaw`SELECT "id" FROM "Account" WHERE "id" = ${accountId}::uuid FOR UPDATE`;
    const row = (await tx.account.findUnique({ where: { id: accountId }, select: selectSealed })) as SealedRow | null;
    if (!row) return [];
    const update: Partial<Record<SealedColumn, string>> = {};
    const resealed: string[] = [];
    for (const { column, label, context } of SEALED_COLUMNS) {
      const envelope = row[column];
      if (!isOld(envelope)) continue;
      try {
        update[column] = encryptSecret(decryptSecret(envelope, context(accountId)), context(accountId));
        resealed.push(label);
      } catch (error) {
        failures.push({ accountId, column, reason: error instanceof Error ? error.message : "does not open" });
      }
    }
    if (resealed.length > 0) await tx.account.update({ where: { id: accountId }, data: update });
    return resealed;
  });
  for (const label of done) report.resealed[label] = (report.resealed[label] ?? 0) + 1;
  report.failed.push(...failures);
}

/**
 * Re-seal every secret still sealed with an older key. `onBatch` hears the running totals after
 * each batch (for progress lines).
 */
export async function resealSecrets(options: { batchSize?: number; onBatch?: (report: ResealReport) => void } = {}): Promise<ResealReport> {
  const batchSize = options.batchSize ?? 200;
  const report: ResealReport = { accounts: 0, resealed: Object.fromEntries(SEALED_COLUMNS.map(({ label }) => [label, 0])), current: 0, failed: [] };
  let after: string | undefined;
  for (;;) {
    const batch = (await db().account.findMany({
      where: after === undefined ? {} : { id: { gt: after } },
      orderBy: { id: "asc" },
      take: batchSize,
      select: selectSealed,
    })) as SealedRow[];
    if (batch.length === 0) break;
    for (const row of batch) {
      report.accounts++;
      const values = SEALED_COLUMNS.map(({ column }) => row[column]).filter((value): value is string => value !== null);
      report.current += values.filter((value) => !isSealedWithOldKey(value)).length;
      if (values.some(isOld)) await resealAccount(row.id, report);
    }
    after = batch[batch.length - 1]!.id;
    options.onBatch?.(report);
    if (batch.length < batchSize) break;
  }
  return report;
}
