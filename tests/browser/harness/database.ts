// A new, empty Postgres database for one browser-test run, brought up to date by the same
// `npm run db:migrate` that users run, and dropped afterwards (as tests/helpers/fresh-database.ts
// does for vitest).
import { execFileSync } from "node:child_process";
import pg from "pg";
import { projectRoot } from "./environment";

const adminUrl = () => process.env.TEST_DATABASE_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export type FreshDatabase = { url: string; drop: () => Promise<void> };

export async function createFreshDatabase(prefix = "kss_browser"): Promise<FreshDatabase> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  execFileSync("npm", ["run", "--silent", "db:migrate"], {
    cwd: projectRoot,
    env: { ...process.env, DATABASE_URL: url.toString() },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return {
    url: url.toString(),
    drop: async () => {
      const cleanup = new pg.Client({ connectionString: adminUrl() });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await cleanup.end();
    },
  };
}
