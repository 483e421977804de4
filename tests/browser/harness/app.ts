// The product's own processes for browser tests: the built web app (`next start`) and the worker
// (its bundle, .next/worker/main.mjs), each on loopback, with test configuration and quiet logs.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { buildExists } from "../../../bench/harness/build";
import { heapLimitNodeArgs } from "../../../lib/platform/heap-limit";
import { workerBundlePath } from "../../../scripts/build-worker";
import { appEnvironment, freePort, projectRoot } from "./environment";

export type AppProcesses = {
  url: string;
  /** Everything both processes printed, for failure messages. */
  output: () => string;
  stop: () => Promise<void>;
};

function spawnNode(args: string[], environment: NodeJS.ProcessEnv, sink: (text: string) => void): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: projectRoot, env: environment, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk: Buffer) => sink(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => sink(chunk.toString()));
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));

async function waitFor(what: string, check: () => Promise<boolean>, children: ChildProcess[], output: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    const dead = children.find((child) => child.exitCode !== null);
    if (dead) throw new Error(`${what}: a process exited (${dead.exitCode}):\n${output()}`);
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms failed:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Start web and worker against `environment` (DATABASE_URL, simulator URLs, secrets). */
export async function startApp(environment: Record<string, string>, port?: number): Promise<AppProcesses> {
  if (!buildExists()) throw new Error("the app is not built: run `npm run build` first (npm test does it)");
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = appEnvironment({
    ...environment,
    APP_MODE: "local",
    APP_URL: url,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.BROWSER_TEST_LOG_LEVEL ?? "warn",
    LOG_FORMAT: "json",
    NEXT_TELEMETRY_DISABLED: "1",
  });
  let log = "";
  const sink = (text: string) => {
    log = (log + text).slice(-200_000);
  };
  const web = spawnNode([...heapLimitNodeArgs(env.NODE_OPTIONS), path.join(projectRoot, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"], env, sink);
  const worker = spawnNode([...heapLimitNodeArgs(env.NODE_OPTIONS), workerBundlePath()], { ...env, LOG_LEVEL: "info" }, sink);
  const children = [web, worker];
  const stop = async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    const forced = setTimeout(() => children.forEach((child) => child.kill("SIGKILL")), 10_000);
    await Promise.all(children.map(exited));
    clearTimeout(forced);
  };
  try {
    await waitFor("the web app answering /api/health", async () => (await fetch(`${url}/api/health`)).status === 200, children, () => log, 60_000);
    await waitFor("the worker starting", async () => log.includes("worker started"), children, () => log, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, output: () => log, stop };
}
