// The PostgreSQL server the tests, the fault suite and the bench create their databases in.
//
// TEST_DATABASE_ADMIN_URL when it is set; otherwise the server at 127.0.0.1:5432 when one answers
// there (both as before); otherwise a throwaway embedded PostgreSQL cluster, started in a temporary
// folder for this run and removed at the end, so that `npm test` needs nothing but Node. Whoever
// starts it exports TEST_DATABASE_ADMIN_URL and TEST_DATABASE_EMBEDDED_HOME, so that the processes
// and suites of the run use that one cluster (scripts/test.sh starts it once for a whole `npm test`),
// and the fault suite can restart it.
//
// Loaded by vitest, by Playwright (as CommonJS) and by the bench: relative imports only.
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { connectionUrl, PostgresCluster, randomPassword } from "../../lib/db/postgres-cluster";

export const DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
/** The home (see PostgresCluster) of the throwaway cluster in use, when the run uses one. */
export const EMBEDDED_HOME_VARIABLE = "TEST_DATABASE_EMBEDDED_HOME";

/** Whether something accepts TCP connections at host:port. */
export function serverAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export type ThrowawayCluster = { adminUrl: string; home: string; stop: () => Promise<void> };

/**
 * A new cluster in a temporary folder, on a free loopback port, tuned for tests (no fsync: its data
 * does not outlive the run). `stop` shuts it down and removes the folder; so does this process's exit
 * if nobody called it, unless `outliveProcess` (scripts/test-database.ts, whose caller stops it).
 */
export async function startThrowawayCluster(options: { outliveProcess?: boolean } = {}): Promise<ThrowawayCluster> {
  const home = mkdtempSync(path.join(os.tmpdir(), "kss-test-postgres-"));
  const cluster = new PostgresCluster(home);
  const password = randomPassword();
  const removeHome = () => rmSync(home, { recursive: true, force: true });
  const onExit = () => {
    cluster.stopSync();
    removeHome();
  };
  try {
    await cluster.initialise(password, { durable: false });
    const port = await cluster.startOnFreePort(undefined, { fsync: "off", synchronous_commit: "off", full_page_writes: "off" });
    if (!options.outliveProcess) process.once("exit", onExit);
    return {
      adminUrl: connectionUrl({ port, password, database: "postgres" }),
      home,
      stop: async () => {
        process.removeListener("exit", onExit);
        await cluster.stop();
        removeHome();
      },
    };
  } catch (error) {
    onExit();
    throw error;
  }
}

export type TestDatabaseServer = { adminUrl: string; embeddedHome: string | null; release: () => Promise<void> };

// Shared by every module instance in this process (vitest loads each project's global setup apart).
const shared = globalThis as typeof globalThis & { __kssThrowawayCluster?: { cluster: ThrowawayCluster; users: number } };

/**
 * The server for this run, starting a throwaway cluster when there is none (see above). Call
 * `release` when done: the last user of a throwaway cluster in this process stops it.
 */
export async function useTestDatabaseServer(probe: { host: string; port: number } = { host: "127.0.0.1", port: 5432 }): Promise<TestDatabaseServer> {
  const active = shared.__kssThrowawayCluster;
  if (!active && process.env.TEST_DATABASE_ADMIN_URL) {
    return { adminUrl: process.env.TEST_DATABASE_ADMIN_URL, embeddedHome: process.env[EMBEDDED_HOME_VARIABLE] || null, release: async () => undefined };
  }
  if (!active && (await serverAnswers(probe.host, probe.port))) {
    return { adminUrl: DEFAULT_ADMIN_URL, embeddedHome: null, release: async () => undefined };
  }
  let entry = shared.__kssThrowawayCluster;
  if (entry) entry.users++;
  else {
    const cluster = await startThrowawayCluster();
    entry = shared.__kssThrowawayCluster ??= { cluster, users: 0 };
    if (entry.cluster !== cluster) await cluster.stop(); // another caller won the race
    entry.users++;
    process.env.TEST_DATABASE_ADMIN_URL = entry.cluster.adminUrl;
    process.env[EMBEDDED_HOME_VARIABLE] = entry.cluster.home;
  }
  const mine = entry;
  let released = false;
  return {
    adminUrl: mine.cluster.adminUrl,
    embeddedHome: mine.cluster.home,
    release: async () => {
      if (released) return;
      released = true;
      if (--mine.users > 0) return;
      if (shared.__kssThrowawayCluster === mine) delete shared.__kssThrowawayCluster;
      delete process.env.TEST_DATABASE_ADMIN_URL;
      delete process.env[EMBEDDED_HOME_VARIABLE];
      await mine.cluster.stop();
    },
  };
}

/** Restart the throwaway cluster of `home` (fast shutdown, start again on the same port). */
export function restartEmbeddedCluster(home: string): Promise<void> {
  return new PostgresCluster(home).restart();
}
