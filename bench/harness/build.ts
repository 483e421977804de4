// The production build of the web app (`.next/`), made once when it is missing: the benchmark and
// the fault suite measure what `next start` serves, not the development server.
import { spawn } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "./paths";

const BUILD_TIMEOUT_MS = 15 * 60_000;
export const nextBin = path.join(projectRoot, "node_modules", "next", "dist", "bin", "next");

export function buildExists(): boolean {
  return existsSync(path.join(projectRoot, ".next", "BUILD_ID"));
}

/** Build unless a build is there; resolves to whether it built. */
export async function ensureBuild(log: (line: string) => void = console.log): Promise<boolean> {
  if (buildExists()) return false;
  log("no production build in .next/: running next build (a few minutes)");
  const child = spawn(process.execPath, [nextBin, "build"], {
    cwd: projectRoot,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), BUILD_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  if (code !== 0 || !buildExists()) throw new Error(`next build failed (exit ${code}):\n${output.slice(-4000)}`);
  return true;
}

/**
 * A private copy of the build for one run, served with `next start <directory>`: another `npm test`
 * on the same machine rebuilds .next/ in place, which would change (or break) the app mid-run. The
 * copy sits inside the project, so its server code still finds the project's node_modules.
 */
export function snapshotBuild(directory: string): string {
  const source = path.join(projectRoot, ".next");
  const target = path.join(directory, ".next");
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  cpSync(source, target, { recursive: true, verbatimSymlinks: true, filter: (entry) => !entry.startsWith(path.join(source, "cache")) });
  copyFileSync(path.join(projectRoot, "next.config.js"), path.join(directory, "next.config.js"));
  // The build links the packages it keeps external (relative links into node_modules); point the
  // copy's links at the same packages.
  const relink = (folder: string, originalFolder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const copied = path.join(folder, entry.name);
      const original = path.join(originalFolder, entry.name);
      if (entry.isSymbolicLink()) {
        const resolved = path.resolve(originalFolder, readlinkSync(copied));
        unlinkSync(copied);
        symlinkSync(resolved, copied);
      } else if (entry.isDirectory()) relink(copied, original);
    }
  };
  relink(target, source);
  return directory;
}
