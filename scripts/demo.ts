// `npm run demo`: the whole product on this computer, with nothing to register. It starts an
// embedded PostgreSQL of its own (DATA_DIR/demo, emptied at every start: each run starts clean), the
// Kommo and Klaviyo simulators, and the app (`npm start`'s launcher: web and worker) pointed at them
// through the API base seams; installs one simulated Kommo account through the real install
// callback, saves its settings through the real widget API, and prints the sandbox page's URL.
// Ctrl-C stops everything. It never calls the real Kommo or Klaviyo, and refuses production mode
// (where the app itself refuses the seams unless ALLOW_API_BASE_OVERRIDE=true).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "@/lib/db/embedded";
import { klaviyoWebhookRegistration } from "@/lib/features/activity/klaviyo-webhook";
import { widgetFiles } from "./build-widget";
import { freePort } from "../tests/helpers/processes";
import { startSandboxServer, type SandboxServer } from "./sandbox/server";
import { SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SandboxWorld } from "./sandbox/world";

const root = path.resolve(__dirname, "..");
const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, ".data"));
const demoDir = path.join(dataDir, "demo");
const say = (line: string) => console.log(`demo: ${line}`);

if (process.env.APP_MODE === "production" || (!process.env.APP_MODE && process.env.NODE_ENV === "production")) {
  console.error("demo: refused in production mode: the demo points the app at simulators (unset NODE_ENV=production / APP_MODE=production)");
  process.exit(1);
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined>, app: ChildProcess, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (app.exitCode !== null || app.signalCode !== null) throw new Error(`the app stopped while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The sandbox page's port: DEMO_PORT, else 4000 when free, else any free one. */
const sandboxPort = () => Number(process.env.DEMO_PORT ?? 4000);

let embedded: EmbeddedDatabase | undefined;
let world: SandboxWorld | undefined;
let sandbox: SandboxServer | undefined;
let app: ChildProcess | undefined;
let stopping = false;

async function stopAll(exitCode: number): Promise<never> {
  stopping = true;
  if (app && app.exitCode === null && app.signalCode === null) {
    const exited = new Promise((resolve) => app!.once("exit", resolve));
    app.kill("SIGTERM");
    const forced = setTimeout(() => app!.kill("SIGKILL"), 45_000);
    await exited;
    clearTimeout(forced);
  }
  await sandbox?.close().catch(() => undefined);
  await world?.close().catch(() => undefined);
  await embedded?.stop().catch(() => undefined);
  process.exit(exitCode);
}

async function main() {
  const started = Date.now();
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  rmSync(demoDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  // Started as root, PostgreSQL runs as the user "postgres", which must pass through DATA_DIR to
  // reach demo/postgres (npm start's cluster sits one level higher, where the cluster sees to it).
  if (process.getuid?.() === 0) chmodSync(dataDir, statSync(dataDir).mode | 0o001);
  say(`starting clean: an empty embedded database in ${demoDir}`);
  embedded = await startEmbeddedDatabase(demoDir);

  const appPort = process.env.PORT ? Number(process.env.PORT) : await freePort();
  const appUrl = `http://127.0.0.1:${appPort}`;
  world = await SandboxWorld.start({ url: appUrl, klaviyoHook: (accountId) => klaviyoWebhookRegistration(accountId) });
  world.seed();
  sandbox = await startSandboxServer(world, { appUrl, port: sandboxPort() }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== "EADDRINUSE") throw error;
    return startSandboxServer(world!, { appUrl, port: 0 });
  });

  // The app's configuration: this process uses the same (it derives the Klaviyo webhook's address).
  const appEnv: Record<string, string> = {
    APP_MODE: "local",
    DATABASE_URL: embedded.url,
    DATA_DIR: demoDir,
    PORT: String(appPort),
    HOST: "127.0.0.1",
    APP_URL: appUrl,
    KOMMO_CLIENT_ID: SANDBOX_CLIENT_ID,
    KOMMO_CLIENT_SECRET: SANDBOX_CLIENT_SECRET,
    KOMMO_API_BASE_URL: world.kommo.url,
    KLAVIYO_API_BASE_URL: world.klaviyo.url,
    ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    AUTH_SECRET: randomBytes(32).toString("hex"),
    KLAVIYO_ACTIVITY_POLL_SECONDS: process.env.KLAVIYO_ACTIVITY_POLL_SECONDS ?? "5",
    SANDBOX_URL: sandbox.url,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    NEXT_TELEMETRY_DISABLED: "1",
  };
  Object.assign(process.env, appEnv);
  delete process.env.ALLOW_API_BASE_OVERRIDE;
  say("starting the app (the first run builds it, a few minutes)");
  app = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts/start.ts")], { cwd: root, env: process.env, stdio: "inherit" });
  app.once("exit", (code) => {
    if (!stopping) {
      console.error(`demo: the app stopped (exit code ${code}); stopping the rest`);
      void stopAll(code || 1);
    }
  });
  await waitFor("the app answering /api/health", async () => (await fetch(`${appUrl}/api/health`)).ok, app, 15 * 60_000);

  // Install as Kommo does when the admin clicks Install, then wait for the install job.
  await world.install();
  const pool = new pg.Pool({ connectionString: embedded.url, max: 1 });
  try {
    world.accountRowId = await waitFor(
      "the install",
      async () => (await pool.query<{ id: string }>(`SELECT id FROM "Account" WHERE "kommoAccountId" = $1 AND status = 'installed'`, [world!.accountId])).rows[0]?.id,
      app,
      60_000,
    );
  } finally {
    await pool.end();
  }

  // The admin's settings, saved through the widget's own API door (the panel does the same).
  const saved = await fetch(`${appUrl}/api/widget/settings`, {
    method: "PUT",
    headers: { "X-Auth-Token": await world.widgetToken(), Origin: world.kommoOrigin, "Content-Type": "application/json" },
    body: JSON.stringify(world.settingsBody()),
  });
  if (!saved.ok) throw new Error(`saving the settings answered ${saved.status}: ${(await saved.text()).slice(0, 300)}`);
  sandbox.setWidgetFiles(await widgetFiles({ appUrl: sandbox.url }));

  say(`ready in ${Math.round((Date.now() - started) / 1000)} s; the app is at ${appUrl}, Kommo and Klaviyo are simulated on this computer`);
  say("Ctrl-C stops everything; the next run starts clean");
  console.log(`\n  Sandbox: ${sandbox.url}\n`);
}

main().catch(async (error: unknown) => {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll(1);
});
