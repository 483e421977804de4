// `npm run secrets:reseal`: after a key rotation, re-seal every stored secret (Kommo tokens,
// Klaviyo keys) that an older key sealed with the current ENCRYPTION_KEY. Safe to run while the app
// runs, and as often as wanted. Prints counts only, never a secret.
import { db } from "@/lib/db/client";
import { resealSecrets, type ResealReport } from "@/lib/reseal-secrets";
import { ConfigError, getEnv } from "@/lib/platform/env";

const totals = (report: ResealReport) =>
  `${report.accounts} accounts, ${Object.values(report.resealed).reduce((sum, count) => sum + count, 0)} secrets re-sealed, ${report.current} already current, ${report.failed.length} failed`;

async function main(): Promise<number> {
  if (!process.env.DATABASE_URL) {
    console.error("DATABASE_URL is not set: secrets:reseal needs the database whose secrets it re-seals");
    return 1;
  }
  if (!process.env.ENCRYPTION_KEY) {
    console.error("ENCRYPTION_KEY is not set: set the new key, and the old ones in ENCRYPTION_PREVIOUS_KEYS");
    return 1;
  }
  try {
    getEnv();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) console.error(`configuration error: ${problem}`);
    return 1;
  }
  const batchSize = Number(process.argv.find((arg) => arg.startsWith("--batch="))?.slice("--batch=".length) ?? 200);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    console.error("--batch=N needs a positive whole number");
    return 1;
  }
  const report = await resealSecrets({ batchSize, onBatch: (running) => console.log(`… ${totals(running)}`) });
  console.log(`re-seal done: ${totals(report)}`);
  for (const [label, count] of Object.entries(report.resealed)) console.log(`  ${label}: ${count} re-sealed`);
  for (const failure of report.failed) console.error(`  account ${failure.accountId}, ${failure.column}: ${failure.reason}`);
  if (report.failed.length > 0) {
    console.error("Some secrets did not open: keep their key in ENCRYPTION_PREVIOUS_KEYS (or have the account reinstalled / its Klaviyo key entered again), then run this again.");
    return 2;
  }
  return 0;
}

main().then(
  async (code) => {
    await db().$disconnect();
    process.exit(code);
  },
  async (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    await db().$disconnect();
    process.exit(1);
  },
);
