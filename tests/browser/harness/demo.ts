// `npm run demo` started as a test's fixture: in a throwaway DATA_DIR and a process group of its own
// (as a terminal would start it), so that a spec file runs one demo for all its tests and can see
// every child go.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { appEnvironment, projectRoot } from "./environment";

export type Demo = { process: ChildProcess; sandboxUrl: string; dataDir: string; output: () => string };

/** Is any process of the demo's group still there? */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function until(what: string, check: () => boolean, timeoutMs: number, output = () => ""): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s failed; the demo printed:\n${output().slice(-6000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Starts the demo and waits for the sandbox's URL it prints. */
export async function startDemo(): Promise<Demo> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "kss-demo-"));
  let printed = "";
  const child = spawn(process.execPath, ["--import", "tsx", path.join(projectRoot, "scripts/demo.ts")], {
    cwd: projectRoot,
    env: appEnvironment({ DATA_DIR: dataDir, DEMO_PORT: "0", PORT: undefined, DATABASE_URL: undefined, LOG_LEVEL: "warn" }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout!.on("data", (chunk: Buffer) => (printed += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (printed += chunk.toString()));
  const output = () => printed;
  const url = /Sandbox: (http:\/\/127\.0\.0\.1:\d+)/;
  await until("the demo printing its URL", () => url.test(printed) || child.exitCode !== null, 120_000, output);
  const sandboxUrl = url.exec(printed)?.[1];
  if (!sandboxUrl) throw new Error(`the demo stopped before printing its URL:\n${printed.slice(-6000)}`);
  return { process: child, sandboxUrl, dataDir, output };
}

/** Ctrl-C to the demo, then anything of its group still there is killed and its folder removed. */
export async function stopDemo(demo: Demo | undefined): Promise<void> {
  if (!demo) return;
  const { process: child } = demo;
  if (child.pid && child.exitCode === null) {
    child.kill("SIGINT");
    await until("the demo stopping", () => child.exitCode !== null, 60_000, demo.output).catch(() => process.kill(-child.pid!, "SIGKILL"));
  }
  if (child.pid && groupAlive(child.pid)) process.kill(-child.pid, "SIGKILL");
  rmSync(demo.dataDir, { recursive: true, force: true });
}
