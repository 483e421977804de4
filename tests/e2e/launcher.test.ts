// `npm start` as a newcomer runs it: no DATABASE_URL (the embedded PostgreSQL) or a real Postgres, web
// and worker together, configuration errors as clear lines, graceful stop.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { cleanEnvironment, freePort, launch, waitForHealth, waitForOutput } from "@/tests/helpers/processes";
import { serverAnswers } from "@/tests/helpers/test-database-server";

const portAnswers = (port: number) => serverAnswers("127.0.0.1", port);

describe("npm start", () => {
  it("runs web and worker on the embedded PostgreSQL when DATABASE_URL is unset, then stops both on SIGTERM", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "kss-embedded-"));
    // Data of the PGlite database earlier versions embedded: named in one line, left as it is.
    mkdirSync(path.join(dataDir, "pglite"));
    writeFileSync(path.join(dataDir, "pglite", "PG_VERSION"), "18\n");
    const port = await freePort();
    const app = launch([], cleanEnvironment({ DATA_DIR: dataDir, PORT: String(port) }));
    let databasePort: number | undefined;
    try {
      const health = await waitForHealth(`http://127.0.0.1:${port}/api/health`, app, 150_000);
      expect(health.body).toEqual({ db: "ok", queue: "ok" });
      expect(existsSync(path.join(dataDir, "secrets.json"))).toBe(true);
      expect(existsSync(path.join(dataDir, "postgres", "data", "PG_VERSION"))).toBe(true);
      expect(app.output()).toContain("using the embedded database");
      expect(app.output()).toContain(`${path.join(dataDir, "pglite")} holds the data of the previous embedded database (PGlite)`);
      databasePort = Number(/PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(app.output())?.[1]);
      expect(await portAnswers(databasePort)).toBe(true);
      await waitForOutput(app, "worker started", 30_000);
    } finally {
      app.child.kill("SIGTERM");
    }
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain("worker stopped");
    // The cluster stopped with the launcher; the old data is still there.
    expect(await portAnswers(databasePort!)).toBe(false);
    expect(readFileSync(path.join(dataDir, "pglite", "PG_VERSION"), "utf8")).toBe("18\n");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("uses the Postgres of DATABASE_URL when set", async () => {
    const port = await freePort();
    const app = launch([], cleanEnvironment({ DATABASE_URL: inject("databaseUrl"), DATA_DIR: mkdtempSync(path.join(tmpdir(), "kss-pg-")), PORT: String(port) }));
    try {
      const health = await waitForHealth(`http://127.0.0.1:${port}/api/health`, app, 120_000);
      expect(health.body).toEqual({ db: "ok", queue: "ok" });
      expect(app.output()).not.toContain("embedded database");
    } finally {
      app.child.kill("SIGTERM");
    }
    expect(await app.exited).toBe(0);
  });

  it("refuses to start in production with missing configuration, naming each variable", async () => {
    const app = launch([], cleanEnvironment({ NODE_ENV: "production", DATABASE_URL: inject("databaseUrl"), ENCRYPTION_KEY: "too-short" }));
    expect(await app.exited).toBe(1);
    const lines = app.output().trim().split("\n");
    expect(lines).toContain("configuration error: ENCRYPTION_KEY must be 32 random bytes in base64 (generate one with: openssl rand -base64 32)");
    expect(lines).toContain("configuration error: APP_URL is required in production (it is not set); see README, Configuration");
  });

  it("needs a shared DATABASE_URL to run one role alone", async () => {
    const app = launch(["--role=worker"], cleanEnvironment({ DATA_DIR: mkdtempSync(path.join(tmpdir(), "kss-role-")) }));
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain("start:web and start:worker need DATABASE_URL");
  });
});
