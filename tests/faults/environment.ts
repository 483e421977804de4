// The app under fault: the production web server and worker processes against both simulators,
// on the fault suite's database. The web server and the simulators live for the whole suite; each
// scenario starts the workers it needs, with the timings it needs, and stops them afterwards.
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { appUrl, killAll, newAppIdentity, startWeb, startWorker, type AppConfig, type AppProcess } from "../../bench/harness/app";
import type { HarnessContext } from "../../bench/harness/accounts";
import { Observer } from "../../bench/harness/observer";
import { snapshotBuild } from "../../bench/harness/build";
import { projectRoot } from "../../bench/harness/paths";
import { startSimulators } from "../../bench/harness/simulators";
import { freePort } from "../helpers/processes";

/** A little latency, so that calls overlap as they do over a network, without slowing the suite. */
const API_LATENCY_MS = 10;

export type WorkerTimings = {
  /** A job running longer is presumed dead and handed to another worker. */
  jobTimeoutSeconds: number;
  maintenanceSeconds?: number;
  concurrency?: number;
};

/** The dashboard's operator in this run: a user of a Kommo account of its own, without the integration. */
export type Operator = { kommoAccountId: number; userId: number; name: string; email: string };
const OPERATOR_KOMMO_ACCOUNT = 38_000_001;

export type WorkerCrash = { worker: string; code: number | null; at: number; reason: string };

/** The last error line a crashed process wrote, for the report. */
function lastError(output: string): string {
  const lines = output.trim().split("\n");
  const error = lines.reverse().find((line) => /^\s*(\w*Error|error):/.test(line));
  return (error ?? lines[0] ?? "").trim().slice(0, 200);
}

export class FaultEnvironment {
  readonly workers: AppProcess[] = [];
  /** Workers that exited on their own while supervised. */
  readonly crashes: WorkerCrash[] = [];
  private workerCount = 0;
  /** Moves on whenever the suite stops the workers; a supervisor of an earlier epoch starts none. */
  private epoch = 0;

  private constructor(
    readonly context: HarnessContext,
    readonly config: AppConfig,
    readonly web: AppProcess,
    readonly operator: Operator,
  ) {}

  static async start(databaseUrl: string): Promise<FaultEnvironment> {
    const identity = newAppIdentity();
    const port = await freePort();
    const url = appUrl({ port });
    const sims = await startSimulators({ identity, appUrl: url, latencyMs: API_LATENCY_MS });
    const runDir = path.join(projectRoot, ".data", "faults", `${Date.now().toString(36)}-${process.pid}`);
    const buildDirectory = snapshotBuild(path.join(runDir, "app"));
    const logDir = path.join(runDir, "logs");
    mkdirSync(logDir, { recursive: true });
    const operatorUser = sims.kommo.addAccount({ id: OPERATOR_KOMMO_ACCOUNT, subdomain: "faultops", name: "Sync Ops" }).users[0]!;
    const operator: Operator = { kommoAccountId: OPERATOR_KOMMO_ACCOUNT, userId: operatorUser.id, name: operatorUser.name, email: operatorUser.email };
    const config: AppConfig = {
      identity,
      databaseUrl,
      port,
      kommoUrl: sims.kommo.url,
      klaviyoUrl: sims.klaviyo.url,
      logDir,
      buildDirectory,
      env: { OPERATOR_KOMMO_USERS: `${operator.kommoAccountId}:${operator.userId}` },
    };
    const observer = new Observer(databaseUrl);
    try {
      const web = await startWeb(config);
      return new FaultEnvironment({ sims, identity, appUrl: url, observer }, config, web, operator);
    } catch (error) {
      await observer.close();
      await sims.close();
      throw error;
    }
  }

  get sims() {
    return this.context.sims;
  }

  get observer() {
    return this.context.observer;
  }

  /**
   * Start `count` worker processes with these timings (they also set the sync queue's expiry).
   * `supervised`: a worker that exits on its own is replaced, as a process manager (systemd,
   * Kubernetes) would do in production; each such exit is recorded in `crashes`.
   */
  async startWorkers(count: number, timings: WorkerTimings, options: { supervised?: boolean } = {}): Promise<AppProcess[]> {
    const config: AppConfig = {
      ...this.config,
      env: {
        ...this.config.env,
        SYNC_JOB_TIMEOUT_SECONDS: String(timings.jobTimeoutSeconds),
        QUEUE_MAINTENANCE_SECONDS: String(timings.maintenanceSeconds ?? 2),
        WORKER_CONCURRENCY: String(timings.concurrency ?? 4),
      },
    };
    const started = await Promise.all(Array.from({ length: count }, () => startWorker(config, `worker-${++this.workerCount}`)));
    this.workers.push(...started);
    if (options.supervised) for (const worker of started) this.supervise(worker, config);
    return started;
  }

  private supervise(worker: AppProcess, config: AppConfig): void {
    const epoch = this.epoch;
    void worker.exited.then(async (code) => {
      // Stopped by the suite (no longer listed): nothing to do.
      if (!this.workers.includes(worker)) return;
      this.workers.splice(this.workers.indexOf(worker), 1);
      this.crashes.push({ worker: worker.name, code, at: Date.now(), reason: lastError(worker.output()) });
      // The database may still be away: a replacement that cannot start is tried again (bounded).
      for (let attempt = 0; attempt < 60 && epoch === this.epoch; attempt++) {
        try {
          const replacement = await startWorker(config, `worker-${++this.workerCount}`, 30_000);
          // The suite stopped the workers meanwhile: this one is not wanted any more.
          if (epoch !== this.epoch) return replacement.kill("SIGKILL");
          this.workers.push(replacement);
          this.supervise(replacement, config);
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    });
  }

  /** Stop every worker gracefully (SIGTERM), or at once with SIGKILL. */
  async stopWorkers(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    this.epoch++;
    const workers = this.workers.splice(0);
    if (signal === "SIGKILL") {
      for (const worker of workers) worker.kill("SIGKILL");
      await Promise.all(workers.map((worker) => worker.exited));
    } else {
      await Promise.all(workers.map((worker) => worker.stop(20_000)));
    }
  }

  /** Forget faults and counters of the previous scenario. */
  reset(): void {
    this.sims.klaviyo.faults.clear();
    this.sims.klaviyo.requests.length = 0;
    this.sims.kommo.resetCounters();
  }

  async close(): Promise<void> {
    await this.stopWorkers("SIGKILL");
    await this.web.stop(5000);
    // Replacements a supervisor was still starting.
    await killAll();
    await this.observer.close();
    await this.sims.close();
    if (this.config.buildDirectory) rmSync(this.config.buildDirectory, { recursive: true, force: true });
  }
}
