// Shared setup of the Kommo integration tests: the simulator wired in as KOMMO_API_BASE_URL,
// installed accounts, and the queue rows the tests look at.
import { randomInt } from "node:crypto";
import pg from "pg";
import { expect } from "vitest";
import { POST as webhookRoute } from "@/app/api/kommo/webhooks/[hookKey]/route";
import { db } from "@/lib/db/client";
import { getEnv, resetEnvForTests } from "@/lib/platform/env";
import { senderBoss } from "@/lib/jobs/boss";
import { advanceInstall, beginInstall } from "@/lib/features/install/install";
import { closeSqlPool, getTypeParser } from "@/lib/db/sql-pool";
import { KommoSimulator, type KommoSimulatorOptions } from "../simulators/kommo";

export const CLIENT_ID = process.env.KOMMO_CLIENT_ID!;
export const CLIENT_SECRET = process.env.KOMMO_CLIENT_SECRET!;

/** Start the simulator and point every Kommo call of this process at it. */
export async function startKommo(options: Partial<KommoSimulatorOptions> = {}): Promise<KommoSimulator> {
  const simulator = await KommoSimulator.start({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: `${process.env.APP_URL}/api/kommo/oauth/callback`,
    ...options,
  });
  process.env.KOMMO_API_BASE_URL = simulator.url;
  resetEnvForTests();
  if (getEnv().KOMMO_API_BASE_URL !== simulator.url) throw new Error("KOMMO_API_BASE_URL did not take effect");
  return simulator;
}

/** Kommo account ids unique within the test database (files share it). */
export const newKommoAccountId = () => randomInt(20_000_000, 2_000_000_000);

export type InstalledAccount = { accountId: string; kommoAccountId: number; subdomain: string; hookKey: string };

/** A simulated Kommo account, installed through the real install flow. */
export async function installAccount(
  simulator: KommoSimulator,
  input: { subdomain?: string; kommoAccountId?: number; language?: string; timezone?: string } = {},
): Promise<InstalledAccount> {
  const kommoAccountId = input.kommoAccountId ?? newKommoAccountId();
  const subdomain = input.subdomain ?? `acme${kommoAccountId}`;
  simulator.addAccount({ id: kommoAccountId, subdomain, name: `Acme ${kommoAccountId}`, language: input.language, timezone: input.timezone });
  const outcome = await advanceInstall(beginInstall(`${subdomain}.kommo.com`, simulator.issueCode(kommoAccountId)));
  if (!outcome.done) throw outcome.error;
  const { hookKey } = await db().account.findUniqueOrThrow({ where: { id: outcome.accountId }, select: { hookKey: true } });
  return { accountId: outcome.accountId, kommoAccountId, subdomain, hookKey };
}

// bigint columns read as numbers, as the app reads them.
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2, types: { getTypeParser } });

export type JobRow = { id: string; name: string; state: string; singleton_key: string | null; data: Record<string, unknown> };

export async function jobsOf(queue: string, accountId: string): Promise<JobRow[]> {
  const { rows } = await pool.query<JobRow>(
    "SELECT id, name, state, singleton_key, data FROM pgboss.job WHERE name = $1 AND data->>'accountId' = $2 ORDER BY created_on",
    [queue, accountId],
  );
  return rows;
}

export async function sql<Row extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<Row[]> {
  return (await pool.query<Row>(text, values)).rows;
}

/** Post a Kommo CRM webhook body to the account's hook address, as Kommo does; Kommo needs a 200. */
export async function deliverCrmWebhook(hookKey: string, body: string): Promise<void> {
  const response = await webhookRoute(
    new Request(`http://127.0.0.1/api/kommo/webhooks/${hookKey}`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body }),
    { params: Promise.resolve({ hookKey }) },
  );
  expect(response.status).toBe(200);
}

/** Close everything the Kommo modules opened in this process. */
export async function closeConnections(simulator?: KommoSimulator): Promise<void> {
  await simulator?.close();
  await (await senderBoss()).stop({ graceful: false, wait: true });
  await closeSqlPool();
  await pool.end();
  await db().$disconnect();
}
