// The real app as an operator runs it, against the simulators: the production web server
// (`next start` on the build in .next/) and worker processes (the build's worker bundle), each one
// OS process whose output goes to a log file (so that reading it costs the harness nothing), on
// loopback only.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { yieldToWebServer } from "../../lib/jobs/host-priority";
import { heapLimitNodeArgs } from "../../lib/platform/heap-limit";
import { workerBundlePath } from "../../scripts/build-worker";
import { cleanEnvironment } from "../../tests/helpers/processes";
import { nextBin } from "./build";
import { projectRoot } from "./paths";

/** The integration's credentials for one run: the Kommo simulator and the app must agree on them. */
export type AppIdentity = { clientId: string; clientSecret: string; encryptionKey: string; authSecret: string };

export function newAppIdentity(): AppIdentity {
  return {
    clientId: randomUUID(),
    clientSecret: randomBytes(24).toString("base64url"),
    encryptionKey: randomBytes(32).toString("base64"),
    authSecret: randomBytes(32).toString("base64url"),
  };
}

export type AppConfig = {
  identity: AppIdentity;
  databaseUrl: string;
  /** The web server's port; APP_URL is http://127.0.0.1:port. */
  port: number;
  kommoUrl: string;
  klaviyoUrl: string;
  logDir: string;
  /** Where the build to serve is (a snapshot from `snapshotBuild`); default the project's .next/. */
  buildDirectory?: string;
  /** Tuning for this run: WORKER_CONCURRENCY, SYNC_JOB_TIMEOUT_SECONDS, QUEUE_MAINTENANCE_SECONDS, LOG_LEVEL. */
  env?: Record<string, string>;
  /** Options for node itself (e.g. --cpu-prof, which NODE_OPTIONS may not carry). */
  nodeArgs?: string[];
};

export const appUrl = (config: Pick<AppConfig, "port">) => `http://127.0.0.1:${config.port}`;

export function appEnvironment(config: AppConfig): NodeJS.ProcessEnv {
  return cleanEnvironment({
    NODE_ENV: "production",
    APP_MODE: "production",
    HOST: "127.0.0.1",
    PORT: String(config.port),
    APP_URL: appUrl(config),
    DATABASE_URL: config.databaseUrl,
    KOMMO_CLIENT_ID: config.identity.clientId,
    KOMMO_CLIENT_SECRET: config.identity.clientSecret,
    ENCRYPTION_KEY: config.identity.encryptionKey,
    AUTH_SECRET: config.identity.authSecret,
    KOMMO_API_BASE_URL: config.kommoUrl,
    KLAVIYO_API_BASE_URL: config.klaviyoUrl,
    // A production run against the simulators: the one case the override exists for.
    ALLOW_API_BASE_OVERRIDE: "true",
    NEXT_TELEMETRY_DISABLED: "1",
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    ...config.env,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every app process the harness started and that is still running, so that none outlives a run. */
export const liveProcesses = new Set<AppProcess>();

/** SIGKILL whatever is still running (the end of a run, or an aborted one). */
export async function killAll(): Promise<void> {
  const running = [...liveProcesses];
  for (const process of running) process.kill("SIGKILL");
  await Promise.all(running.map((process) => process.exited));
}

export class AppProcess {
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    liveProcesses.add(this);
    this.exited = new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
      else child.once("exit", (code) => resolve(code));
    }).then((code) => {
      liveProcesses.delete(this);
      return code;
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, "utf8") : "";
  }

  async waitForOutput(text: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output().includes(text)) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode}) before "${text}":\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: "${text}" did not appear within ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(100);
    }
  }

  tail(lines = 40): string {
    return this.output().trim().split("\n").slice(-lines).join("\n");
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM (running jobs finish), then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const forced = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(forced);
  }
}

/** A node process of ours, its output in `<logDir>/<name>.log`. */
export function spawnLogged(name: string, args: string[], environment: NodeJS.ProcessEnv, logDir: string): AppProcess {
  const logFile = path.join(logDir, `${name}.log`);
  const fd = openSync(logFile, "a");
  // node itself (with tsx's loader where needed), never a CLI wrapper that forks: signals and
  // SIGKILL must reach the process that does the work.
  const child = spawn(process.execPath, args, { cwd: projectRoot, env: environment, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  return new AppProcess(name, child, logFile);
}

/** `next start` on the production build; resolves when /api/health answers 200. */
export async function startWeb(config: AppConfig, name = "web", timeoutMs = 120_000): Promise<AppProcess> {
  const environment = appEnvironment(config);
  const args = [...heapLimitNodeArgs(environment.NODE_OPTIONS), ...(config.nodeArgs ?? []), nextBin, "start", config.buildDirectory ?? projectRoot, "-p", String(config.port), "-H", "127.0.0.1"];
  const web = spawnLogged(name, args, environment, config.logDir);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!web.running) throw new Error(`${name} exited (${web.child.exitCode}):\n${web.tail()}`);
    try {
      const response = await fetch(`${appUrl(config)}/api/health`, { signal: AbortSignal.timeout(5000) });
      if (response.status === 200) return web;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      web.kill("SIGKILL");
      throw new Error(`${name} was not healthy within ${timeoutMs} ms:\n${web.tail()}`);
    }
    await sleep(250);
  }
}

/** One worker process (the build's bundle of lib/worker-main.ts); resolves when it has started fetching jobs. */
export async function startWorker(config: AppConfig, name: string, timeoutMs = 90_000): Promise<AppProcess> {
  const bundle = workerBundlePath(path.join(config.buildDirectory ?? projectRoot, ".next"));
  const environment = appEnvironment(config);
  const worker = spawnLogged(name, [...heapLimitNodeArgs(environment.NODE_OPTIONS), ...(config.nodeArgs ?? []), bundle], environment, config.logDir);
  // On one host with the web server, as `npm start` runs them: the worker yields the CPU to it.
  yieldToWebServer(worker.child.pid);
  try {
    await worker.waitForOutput("worker started", timeoutMs);
  } catch (error) {
    worker.kill("SIGKILL");
    throw error;
  }
  return worker;
}
