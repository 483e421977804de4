// Liveness of what the product cannot work without: its database and its queue.
import { db, type PrismaClient } from "@/lib/db/client";
import { QUEUE_SCHEMA } from "@/lib/jobs/boss";
import { DEAD_LETTER_QUEUE } from "@/lib/jobs/queues";

export type HealthReport = {
  db: "ok" | string;
  queue: "ok" | string;
};

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref()),
  ]);
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Connection errors can carry the URL; keep only the first line and never a password.
  return (message.split("\n")[0] ?? "unavailable").replace(/\/\/[^@/]*@/g, "//");
}

async function checkDatabase(client: PrismaClient): Promise<"ok" | string> {
  try {
    await withTimeout(client.$queryRaw`SELECT 1`, "database");
    return "ok";
  } catch (error) {
    return `down: ${describe(error)}`;
  }
}

async function checkQueue(client: PrismaClient, queues: readonly string[]): Promise<"ok" | string> {
  try {
    const rows = await withTimeout(
      client.$queryRawUnsafe<{ name: string }[]>(`SELECT name FROM ${QUEUE_SCHEMA}.queue`),
      "queue",
    );
    const present = new Set(rows.map((row) => row.name));
    const missing = [DEAD_LETTER_QUEUE, ...queues].filter((name) => !present.has(name));
    return missing.length === 0 ? "ok" : `missing queues: ${missing.join(", ")} (run npm run db:migrate)`;
  } catch (error) {
    return `down: ${describe(error)}`;
  }
}

/** `queues`: the names of the queues a working installation has (lib/worker.ts JOB_NAMES). */
export async function checkHealth(
  queues: readonly string[],
  client: PrismaClient = db(),
): Promise<{ healthy: boolean; report: HealthReport }> {
  const [database, queue] = await Promise.all([checkDatabase(client), checkQueue(client, queues)]);
  return { healthy: database === "ok" && queue === "ok", report: { db: database, queue } };
}
