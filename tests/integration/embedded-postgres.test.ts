// The embedded PostgreSQL, for real: the throwaway cluster a test run starts when no server answers
// (on a free port, restartable by the fault suite, gone afterwards), and the launcher's cluster under
// DATA_DIR, which keeps its data and its port between runs and never touches old PGlite data.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { previousPgliteNotice, startEmbeddedDatabase } from "@/lib/db/embedded";
import { freeLoopbackPort } from "@/lib/db/postgres-cluster";
import { EMBEDDED_HOME_VARIABLE, restartEmbeddedCluster, useTestDatabaseServer } from "@/tests/helpers/test-database-server";

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("the throwaway test cluster", () => {
  const saved = { admin: process.env.TEST_DATABASE_ADMIN_URL, home: process.env[EMBEDDED_HOME_VARIABLE] };
  beforeEach(() => {
    delete process.env.TEST_DATABASE_ADMIN_URL;
    delete process.env[EMBEDDED_HOME_VARIABLE];
  });
  afterEach(() => {
    for (const [name, value] of [["TEST_DATABASE_ADMIN_URL", saved.admin], [EMBEDDED_HOME_VARIABLE, saved.home]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("starts when no server answers, serves the run, survives a restart and leaves nothing behind", async () => {
    const silentPort = await freeLoopbackPort(); // nothing listens there: the "no server at 5432" case
    const server = await useTestDatabaseServer({ host: "127.0.0.1", port: silentPort });
    const home = server.embeddedHome!;
    try {
      expect(home).toBeTruthy();
      expect(process.env.TEST_DATABASE_ADMIN_URL).toBe(server.adminUrl);
      expect(process.env[EMBEDDED_HOME_VARIABLE]).toBe(home);
      expect(new URL(server.adminUrl).port).not.toBe("5432");
      const [row] = await query<{ version: string }>(server.adminUrl, "SELECT version()");
      expect(row!.version).toMatch(/^PostgreSQL 18\./);

      // A second user in the same run shares the cluster.
      const second = await useTestDatabaseServer({ host: "127.0.0.1", port: silentPort });
      expect(second.adminUrl).toBe(server.adminUrl);
      await second.release();
      await query(server.adminUrl, "CREATE DATABASE kss_throwaway_probe");

      await restartEmbeddedCluster(home);
      const databases = await query<{ datname: string }>(server.adminUrl, "SELECT datname FROM pg_database");
      expect(databases.map((database) => database.datname)).toContain("kss_throwaway_probe");
    } finally {
      await server.release();
    }
    expect(existsSync(home)).toBe(false);
    expect(process.env.TEST_DATABASE_ADMIN_URL).toBeUndefined();
    await expect(query(server.adminUrl, "SELECT 1")).rejects.toThrow();
  }, 60_000);

  it("is not started when TEST_DATABASE_ADMIN_URL is set", async () => {
    process.env.TEST_DATABASE_ADMIN_URL = "postgresql://someone@127.0.0.1:1/postgres";
    const server = await useTestDatabaseServer({ host: "127.0.0.1", port: await freeLoopbackPort() });
    expect(server).toMatchObject({ adminUrl: "postgresql://someone@127.0.0.1:1/postgres", embeddedHome: null });
    await server.release();
  });
});

describe("the launcher's embedded database", () => {
  it("keeps its data and port between runs, beside old PGlite data it leaves alone", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "kss-embedded-db-"));
    expect(previousPgliteNotice(dataDir)).toBeNull();
    mkdirSync(path.join(dataDir, "pglite", "base"), { recursive: true });
    const notice = previousPgliteNotice(dataDir)!;
    expect(notice).not.toContain("\n");
    expect(notice).toContain(path.join(dataDir, "pglite"));
    expect(notice).toContain("pg_dump");

    const first = await startEmbeddedDatabase(dataDir);
    try {
      expect(new URL(first.url).pathname).toBe("/klaviyo_sync");
      await query(first.url, "CREATE TABLE kept (value text); INSERT INTO kept VALUES ('still here')");
    } finally {
      await first.stop();
    }
    await expect(query(first.url, "SELECT 1")).rejects.toThrow();

    const second = await startEmbeddedDatabase(dataDir);
    try {
      expect(second.port).toBe(first.port);
      expect(await query(second.url, "SELECT value FROM kept")).toEqual([{ value: "still here" }]);
    } finally {
      await second.stop();
    }
    expect(readdirSync(path.join(dataDir, "pglite"))).toEqual(["base"]);
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);
});
