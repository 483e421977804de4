// PostgreSQL restarted while deals move: the web server answers errors while the database is away
// (Kommo retries those deliveries), running jobs fail or are presumed dead, and everything must
// catch up once the database is back. This restarts the test server: the run's throwaway embedded
// cluster when it is the one in use (pg_ctl), else the machine's local cluster (pg_ctlcluster); so it
// runs last and waits until the server answers again.
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { promisify } from "node:util";
import pg from "pg";
import { adminDatabaseUrl } from "../../bench/harness/database";
import { EMBEDDED_HOME_VARIABLE, restartEmbeddedCluster } from "../helpers/test-database-server";
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

/** The test server's cluster as something this process can restart, or null when it cannot. */
export type RestartableCluster = { label: string; restart: () => Promise<void> };

export function restartableCluster(): RestartableCluster | null {
  const embeddedHome = process.env[EMBEDDED_HOME_VARIABLE];
  if (embeddedHome && process.env.TEST_DATABASE_ADMIN_URL) {
    return { label: "the throwaway embedded cluster", restart: () => restartEmbeddedCluster(embeddedHome) };
  }
  const version = localClusterVersion();
  if (version === null) return null;
  return {
    label: `the local cluster ${version}/main`,
    restart: async () => void (await promisify(execFile)("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "restart"], { timeout: 60_000 })),
  };
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
export async function restartPostgres(cluster: RestartableCluster): Promise<number> {
  const started = Date.now();
  await cluster.restart();
  while (!(await serverAnswers())) {
    if (Date.now() - started > 60_000) throw new Error("PostgreSQL did not come back within a minute of its restart");
    await sleep(250);
  }
  return (Date.now() - started) / 1000;
}

export async function databaseRestartedMidRun(env: FaultEnvironment, cluster: RestartableCluster) {
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
      restarted = restartPostgres(cluster).then(
        (seconds) => void (restart.awaySeconds = seconds),
        (error: unknown) => void (restart.error = error),
      );
    },
    describeFault: () => {
      const crashes = env.crashes.slice(crashesBefore);
      const exits = crashes.length === 0 ? "no worker exited" : `${crashes.length} workers exited and were restarted (${[...new Set(crashes.map((crash) => crash.reason))].join("; ")})`;
      return `${cluster.label} restarted after a third of the deliveries, away ${restart.awaySeconds.toFixed(1)} s; ${exits}`;
    },
  });
  await restarted;
  if (restart.error) throw restart.error;
  return { ...run, restart, crashes: env.crashes.slice(crashesBefore) };
}
