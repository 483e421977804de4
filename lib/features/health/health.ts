// Liveness of what the product cannot work without: its database and its queue. The report is
// public (load balancers read it without credentials), so a failure is only named there; why it
// failed (the driver's error text, which can name hosts, users and databases) goes to the log.
import { db, type PrismaClient } from "@/lib/db/client";
import { existingQueueNames } from "@/lib/jobs/queue-state";
import { DEAD_LETTER_QUEUE } from "@/lib/jobs/queues";
import { logger } from "@/lib/platform/log";

export type HealthReport = {
  db: "ok" | "down";
  /** "missing queues: …" names queues a migration creates: our own names, nothing from the database. */
  queue: "ok" | "down" | `missing queues: ${string}`;
};

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref()),
  ]);
}

/** For the log only: the error on one line, never a password of a connection URL. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim().replace(/\s*\n\s*/g, " ").replace(/\/\/[^@/\s]*@/g, "//").slice(0, 500) || "unavailable";
}

function down(part: "database" | "queue", error: unknown): "down" {
  logger().warn({ part, reason: describe(error) }, "health check failed");
  return "down";
}

async function checkDatabase(client: PrismaClient): Promise<HealthReport["db"]> {
  try {
    await withTimeout(client.$queryRaw`SELECT 1`, "database");
    return "ok";
  } catch (error) {
    return down("database", error);
  }
}

async function checkQueue(client: PrismaClient, queues: readonly string[]): Promise<HealthReport["queue"]> {
  try {
    const present = new Set(await withTimeout(existingQueueNames(client), "queue"));
    const missing = [DEAD_LETTER_QUEUE, ...queues].filter((name) => !present.has(name));
    return missing.length === 0 ? "ok" : `missing queues: ${missing.join(", ")} (run npm run db:migrate)`;
  } catch (error) {
    return down("queue", error);
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
