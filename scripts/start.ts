// The launcher behind `npm start`, `npm run dev`, `start:web` and `start:worker`.
//
// It decides the mode once (production when NODE_ENV=production), fills local secrets for a local
// run, validates the whole configuration (one clear line per problem), starts the embedded
// database when DATABASE_URL is unset, applies migrations, builds the web app and the worker's
// bundle when they are missing or older than the sources, then runs the web server and/or the
// worker as child processes and forwards SIGINT/SIGTERM to them so that running jobs can finish.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { migrateDatabase } from "@/lib/migrate";
import { previousPgliteNotice, startEmbeddedDatabase, type EmbeddedDatabase } from "@/lib/db/embedded";
import { yieldToWebServer } from "@/lib/jobs/host-priority";
import { ConfigError, parseEnv } from "@/lib/platform/env";
import { heapLimitNodeArgs } from "@/lib/platform/heap-limit";
import { fillLocalSecrets } from "@/lib/platform/local-secrets";
import { createLogger } from "@/lib/platform/log";
import { buildWorkerBundle, workerBundleBuiltAt, workerBundlePath } from "./build-worker";

type Role = "all" | "web" | "worker";

const root = path.resolve(__dirname, "..");
const dev = process.argv.includes("--dev");
const roleArgument = process.argv.find((arg) => arg.startsWith("--role="))?.slice("--role=".length) ?? "all";
if (!["all", "web", "worker"].includes(roleArgument)) {
  console.error(`unknown --role=${roleArgument}: use web, worker, or leave it out for both`);
  process.exit(2);
}
const role = roleArgument as Role;
const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, ".data"));

function newestSourceChange(): number {
  let newest = 0;
  const visit = (entry: string) => {
    const stats = statSync(entry);
    if (stats.isDirectory()) {
      for (const name of readdirSync(entry)) if (name !== "generated" && name !== "node_modules") visit(path.join(entry, name));
    } else newest = Math.max(newest, stats.mtimeMs);
  };
  for (const entry of ["app", "lib", "next.config.js", "package-lock.json"]) {
    const full = path.join(root, entry);
    if (existsSync(full)) visit(full);
  }
  return newest;
}

function webBuildIsCurrent(): boolean {
  const buildId = path.join(root, ".next", "BUILD_ID");
  return existsSync(buildId) && statSync(buildId).mtimeMs >= newestSourceChange();
}

/** A child node process of this app, sharing our terminal. */
function runNode(args: string[], environment: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, args, { cwd: root, env: environment, stdio: "inherit" });
}

function waitForExit(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

// Module-wide so that a failed start stops the embedded database it started.
let embedded: EmbeddedDatabase | undefined;

async function main() {
  const production = process.env.APP_MODE ? process.env.APP_MODE === "production" : process.env.NODE_ENV === "production";
  process.env.APP_MODE = production ? "production" : "local";
  const generated = production ? [] : fillLocalSecrets(dataDir, process.env);

  let env;
  try {
    env = parseEnv(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) console.error(`configuration error: ${problem}`);
    process.exit(1);
  }
  const log = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT }).child({ role: "launcher" });
  process.env.LOG_FORMAT = env.LOG_FORMAT;
  if (generated.length > 0) {
    log.warn(`${generated.join(" and ")} not set: using the ones generated in ${path.join(dataDir, "secrets.json")} (set them yourself in production)`);
  }
  if (!env.KOMMO_CLIENT_ID || !env.KOMMO_CLIENT_SECRET) {
    log.warn("KOMMO_CLIENT_ID / KOMMO_CLIENT_SECRET not set: the app runs, but Kommo installs fail until the integration is registered (README)");
  }

  if (!env.DATABASE_URL) {
    if (role !== "all") {
      log.error("start:web and start:worker need DATABASE_URL, a Postgres shared by every process; `npm start` runs both roles on the embedded database");
      process.exit(1);
    }
    const pglite = previousPgliteNotice(dataDir);
    if (pglite) log.warn(pglite);
    embedded = await startEmbeddedDatabase(dataDir);
    process.env.DATABASE_URL = embedded.url;
    log.info(`DATABASE_URL not set: using the embedded database (PostgreSQL on 127.0.0.1:${embedded.port}, data in ${embedded.home})`);
  }

  log.info("applying database migrations");
  await migrateDatabase(process.env.DATABASE_URL!);

  const withWeb = role !== "worker";
  const withWorker = role !== "web";
  if (withWeb && !dev && !webBuildIsCurrent()) {
    log.info("building the web app (first start, or sources changed since the last build)");
    const code = await waitForExit(runNode([require.resolve("next/dist/bin/next"), "build"], { ...process.env, NEXT_TELEMETRY_DISABLED: "1" }));
    if (code !== 0) {
      log.error("the web app did not build; see the output above");
      await embedded?.stop();
      process.exit(code);
    }
  }
  // The worker's bundle (a fraction of a second), after the web build: next build empties .next/.
  if (withWorker && !dev && workerBundleBuiltAt() < newestSourceChange()) await buildWorkerBundle();

  const childEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
  const children: ChildProcess[] = [];
  if (withWeb) {
    children.push(runNode([...(dev ? [] : heapLimitNodeArgs()), require.resolve("next/dist/bin/next"), dev ? "dev" : "start", "-p", String(env.PORT), "-H", env.HOST], childEnv));
    log.info(`web listening on http://${env.HOST}:${env.PORT} (public URL ${env.APP_URL})`);
  }
  if (withWorker) {
    // Production: node on the worker's bundle, one process, so signals reach the worker itself.
    // Development: the tsx CLI, which restarts the worker when a file changes.
    const workerProcess = runNode(dev ? [require.resolve("tsx/cli"), "watch", path.join(root, "lib/worker-main.ts")] : [...heapLimitNodeArgs(), workerBundlePath()], childEnv);
    if (withWeb) yieldToWebServer(workerProcess.pid);
    children.push(workerProcess);
  }

  let stopping = false;
  const stopAll = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    const forced = setTimeout(() => children.forEach((child) => child.kill("SIGKILL")), 40_000);
    await Promise.all(children.map(waitForExit));
    clearTimeout(forced);
    await embedded?.stop();
    process.exit(exitCode);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));
  for (const child of children) {
    void waitForExit(child).then((code) => {
      if (!stopping) {
        log.error({ code }, "a process of the app exited; stopping the others");
        void stopAll(code === 0 ? 1 : code);
      }
    });
  }
}

main().catch(async (error) => {
  console.error(`start failed: ${error instanceof Error ? error.message : String(error)}`);
  await embedded?.stop().catch(() => undefined);
  process.exit(1);
});
