// Liveness of what the product cannot work without: its database and its queue.
import { db, type PrismaClient } from "@/lib/db/client";
import { existingQueueNames } from "@/lib/jobs/queue-state";
import { ALL_QUEUES, type QueueDefinition } from "@/lib/jobs/queues";

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

async function checkQueue(client: PrismaClient, queues: QueueDefinition[]): Promise<"ok" | string> {
  try {
    const present = new Set(await withTimeout(existingQueueNames(client), "queue"));
    const missing = queues.map((queue) => queue.name).filter((name) => !present.has(name));
    return missing.length === 0 ? "ok" : `missing queues: ${missing.join(", ")} (run npm run db:migrate)`;
  } catch (error) {
    return `down: ${describe(error)}`;
  }
}

export async function checkHealth(
  client: PrismaClient = db(),
  queues: QueueDefinition[] = ALL_QUEUES,
): Promise<{ healthy: boolean; report: HealthReport }> {
  const [database, queue] = await Promise.all([checkDatabase(client), checkQueue(client, queues)]);
  return { healthy: database === "ok" && queue === "ok", report: { db: database, queue } };
}
