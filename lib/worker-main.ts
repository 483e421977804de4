// Entry point of the worker role (`npm run start:worker`, or started by `npm start`).
import { getEnv } from "@/lib/platform/env";
import { logger, logStartupWarnings } from "@/lib/platform/log";
import { ALL_JOBS } from "./worker";
import { startWorker } from "@/lib/jobs/worker";

async function main() {
  const env = getEnv();
  const log = logger().child({ role: "worker" });
  logStartupWarnings("worker", env);
  if (!env.DATABASE_URL) throw new Error("DATABASE_URL is not set");
  const worker = await startWorker({
    databaseUrl: env.DATABASE_URL,
    jobs: ALL_JOBS,
    log,
    concurrency: env.WORKER_CONCURRENCY,
    maintenanceIntervalSeconds: env.QUEUE_MAINTENANCE_SECONDS,
  });
  log.info({ concurrency: env.WORKER_CONCURRENCY }, "worker started");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "worker stopping: finishing running jobs");
    await worker.stop();
    log.info("worker stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error) => {
  console.error(`worker failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
