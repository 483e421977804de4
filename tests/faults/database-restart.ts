// PostgreSQL restarted while deals move: the web server answers errors while the database is away
// (Kommo retries those deliveries), running jobs fail or are presumed dead, and everything must
// catch up once the database is back. This restarts the machine's local test cluster
// (pg_ctlcluster), so it runs last and waits until the server answers again.
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { promisify } from "node:util";
import pg from "pg";
import { adminDatabaseUrl } from "../../bench/harness/database";
import type { FaultEnvironment } from "./environment";
import { newTenants, runScenario } from "./scenario";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The local cluster's version (the newest, as .ci/run starts it), or null when there is none to restart. */
export function localClusterVersion(): string | null {
  if (!existsSync("/etc/postgresql") || !existsSync("/usr/bin/pg_ctlcluster")) return null;
  const host = new URL(adminDatabaseUrl()).hostname;
  if (host !== "127.0.0.1" && host !== "localhost") return null;
  const versions = readdirSync("/etc/postgresql").filter((name) => /^\d+$/.test(name));
  return versions.sort((a, b) => Number(a) - Number(b)).at(-1) ?? null;
}

async function serverAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl(), connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Restart the cluster and wait (at most a minute) until it answers queries again; resolves to the seconds it was away. */
export async function restartPostgres(version: string): Promise<number> {
  const started = Date.now();
  await promisify(execFile)("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "restart"], { timeout: 60_000 });
  while (!(await serverAnswers())) {
    if (Date.now() - started > 60_000) throw new Error("PostgreSQL did not come back within a minute of its restart");
    await sleep(250);
  }
  return (Date.now() - started) / 1000;
}

export async function databaseRestartedMidRun(env: FaultEnvironment, version: string) {
  const tenants = await newTenants(env, 2);
  // Supervised: in production a process manager restarts a worker that exits, so this scenario
  // does too, and reports every such exit (a worker should survive a database restart on its own).
  await env.startWorkers(2, { jobTimeoutSeconds: 10, maintenanceSeconds: 2 }, { supervised: true });
  const crashesBefore = env.crashes.length;
  env.reset();
  const restart: { requested: boolean; awaySeconds: number; error?: unknown } = { requested: false, awaySeconds: 0 };
  let restarted: Promise<void> = Promise.resolve();
  const run = await runScenario(env, {
    name: "PostgreSQL restarted mid-run",
    tenants,
    dealsPerTenant: 8,
    gapMs: 300,
    retryForMs: 90_000,
    drainTimeoutMs: 150_000,
    onDelivered: (delivered, total) => {
      if (restart.requested || delivered < total / 3) return;
      restart.requested = true;
      // Not awaited here: the other deals keep changing (and being delivered) during the restart.
      restarted = restartPostgres(version).then(
        (seconds) => void (restart.awaySeconds = seconds),
        (error: unknown) => void (restart.error = error),
      );
    },
    describeFault: () => {
      const crashes = env.crashes.slice(crashesBefore);
      const exits = crashes.length === 0 ? "no worker exited" : `${crashes.length} workers exited and were restarted (${[...new Set(crashes.map((crash) => crash.reason))].join("; ")})`;
      return `cluster restarted after a third of the deliveries, away ${restart.awaySeconds.toFixed(1)} s; ${exits}`;
    },
  });
  await restarted;
  if (restart.error) throw restart.error;
  return { ...run, restart, crashes: env.crashes.slice(crashesBefore) };
}
