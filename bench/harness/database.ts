// A database of its own for one run of the benchmark or the fault suite: created on the local
// PostgreSQL server, brought up to date by the same `npm run db:migrate` that operators run, and
// dropped at the end.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import { projectRoot } from "./paths";

export const adminDatabaseUrl = () => process.env.TEST_DATABASE_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export type RunDatabase = { name: string; url: string; drop: () => Promise<void> };

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createRunDatabase(prefix: string): Promise<RunDatabase> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unsafe database name ${name}`);
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminDatabaseUrl());
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withAdmin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}

export async function migrate(databaseUrl: string): Promise<void> {
  await promisify(execFile)("npm", ["run", "--silent", "db:migrate"], {
    cwd: projectRoot,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    timeout: 180_000,
  });
}
