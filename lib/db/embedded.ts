// The embedded database of a zero-setup run (`npm start` without DATABASE_URL): a real PostgreSQL
// cluster under DATA_DIR/postgres, kept between runs, started by the launcher on a free loopback port
// and stopped with it. Web and worker connect to it as separate processes, like to any PostgreSQL.
// Fine for trying the app and for a small single-host install; anything shared sets DATABASE_URL.
//
// DATA_DIR/postgres holds `data/` (the cluster), `server.log`, and `cluster.json` (the superuser's
// generated password and the last port, which is reused while it is free).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { z } from "zod";
import { connectionUrl, EmbeddedPostgresError, PostgresCluster, randomPassword } from "@/lib/db/postgres-cluster";

export type EmbeddedDatabase = { url: string; port: number; home: string; stop: () => Promise<void> };

/** The database the app uses inside the embedded cluster. */
export const EMBEDDED_DATABASE_NAME = "klaviyo_sync";

const clusterState = z.object({ password: z.string().min(16), port: z.number().int().min(1).max(65_535).optional() });
type ClusterState = z.infer<typeof clusterState>;

function readState(file: string): ClusterState | null {
  if (!existsSync(file)) return null;
  const parsed = clusterState.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) throw new EmbeddedPostgresError(`${file} is not what the launcher wrote (${parsed.error.issues[0]?.message}): restore it, or move ${path.dirname(file)} away to start with an empty database`);
  return parsed.data;
}

function writeState(file: string, state: ClusterState): void {
  writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
}

/**
 * The data of the PGlite database that earlier versions embedded, when DATA_DIR still holds it: it
 * is never read nor deleted, and the returned line says where it is and how to carry it over.
 */
export function previousPgliteNotice(dataDir: string): string | null {
  const old = path.join(dataDir, "pglite");
  if (!existsSync(old)) return null;
  return (
    `${old} holds the data of the previous embedded database (PGlite), which is no longer used and is kept as it is; ` +
    `the embedded PostgreSQL in ${path.join(dataDir, "postgres")} started without it. To carry it over, dump it with pg_dump 18 ` +
    `through PGlite's server and load the dump with psql (README, "The embedded database"); delete ${old} once you no longer need it`
  );
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const admin = new pg.Client({ connectionString: connectionUrl({ port, password, database: "postgres" }) });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [EMBEDDED_DATABASE_NAME]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE "${EMBEDDED_DATABASE_NAME}"`);
  } finally {
    await admin.end();
  }
}

export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const home = path.join(dataDir, "postgres");
  const stateFile = path.join(home, "cluster.json");
  const cluster = new PostgresCluster(home);
  let state = readState(stateFile);
  if (!cluster.isInitialised()) {
    const password = state?.password ?? randomPassword();
    await cluster.initialise(password);
    state = { password };
    writeState(stateFile, state);
  } else if (!state) {
    throw new EmbeddedPostgresError(`${cluster.dataDir} holds a PostgreSQL cluster but ${stateFile} (its password) is missing: restore it, or move ${home} away to start with an empty database`);
  }
  // Left running by a launcher that was killed: stop it, so that it starts with this run's settings.
  if (await cluster.isRunning()) await cluster.stop();
  const port = await cluster.startOnFreePort(state.port);
  if (port !== state.port) writeState(stateFile, { ...state, port });
  const url = connectionUrl({ port, password: state.password, database: EMBEDDED_DATABASE_NAME });
  try {
    await ensureDatabase(port, state.password);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return { url, port, home, stop: () => cluster.stop() };
}
