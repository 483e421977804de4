// Vitest global setup: a new, empty database for this test run, brought up to date by the same
// `npm run db:migrate` that users run; dropped at the end. The server is the run's test server
// (test-database-server.ts): a throwaway embedded cluster when no PostgreSQL answers.
import { execFileSync } from "node:child_process";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { useTestDatabaseServer } from "./test-database-server";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    adminDatabaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await useTestDatabaseServer();
  const adminUrl = server.adminUrl;
  const name = `kss_test_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  execFileSync("npm", ["run", "--silent", "db:migrate"], {
    cwd: path.resolve(__dirname, "..", ".."),
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: "inherit",
  });
  project.provide("databaseUrl", databaseUrl);
  project.provide("adminDatabaseUrl", adminUrl);

  return async () => {
    try {
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await cleanup.end();
    } finally {
      await server.release();
    }
  };
}
