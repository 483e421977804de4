// Starting the app's own processes in tests, on loopback ports. Used by vitest and by the
// Playwright harness (which loads it as CommonJS: hence __dirname, not import.meta).
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";

export const projectRoot = path.resolve(__dirname, "..", "..");

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** This process's environment without anything that configures the app, plus `overrides`. */
export function cleanEnvironment(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(environment)) {
    if (/^(NODE_ENV|APP_MODE|APP_URL|ENCRYPTION_KEY|ENCRYPTION_PREVIOUS_KEYS|AUTH_SECRET|KOMMO_.*|KLAVIYO_.*|ALLOW_API_BASE_OVERRIDE|OPERATOR_.*|DATABASE_URL|LOG_LEVEL|LOG_FORMAT|PORT|HOST|DATA_DIR|VITEST.*)$/.test(name)) {
      delete environment[name];
    }
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete environment[name];
    else environment[name] = value;
  }
  return environment;
}

export type Launched = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

export function launch(args: string[], environment: NodeJS.ProcessEnv): Launched {
  // node with tsx's loader (one process) rather than the tsx CLI (which forks a second one).
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts", ...args], {
    cwd: projectRoot,
    env: environment,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

export async function waitForHealth(url: string, launched: Launched, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (launched.child.exitCode !== null) throw new Error(`the app exited (${launched.child.exitCode}):\n${launched.output()}`);
    try {
      const response = await fetch(url);
      if (response.status === 200) return { status: response.status, body: await response.json() };
      last = await response.text();
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no healthy answer from ${url} within ${timeoutMs} ms (last: ${String(last)}):\n${launched.output()}`);
}

export async function waitForOutput(launched: Launched, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!launched.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`"${text}" did not appear within ${timeoutMs} ms:\n${launched.output()}`);
    if (launched.child.exitCode !== null) throw new Error(`the app exited (${launched.child.exitCode}):\n${launched.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
