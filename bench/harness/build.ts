// The production build (`npm run build`: the web app in `.next/` and the worker's bundle beside it),
// made once when it is missing: the benchmark, the fault suite and the browser tests run what
// `next start` serves and what a production worker runs, not the development server or tsx.
import { spawn } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import path from "node:path";
import { buildWorkerBundle, workerBundleExists } from "../../scripts/build-worker";
import { projectRoot } from "./paths";

const BUILD_TIMEOUT_MS = 15 * 60_000;
export const nextBin = path.join(projectRoot, "node_modules", "next", "dist", "bin", "next");

const webBuildExists = () => existsSync(path.join(projectRoot, ".next", "BUILD_ID"));

export function buildExists(): boolean {
  return webBuildExists() && workerBundleExists();
}

/** Build unless a build is there; resolves to whether it built. */
export async function ensureBuild(log: (line: string) => void = console.log): Promise<boolean> {
  if (buildExists()) return false;
  if (webBuildExists()) {
    await buildWorkerBundle();
    return true;
  }
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
  if (code !== 0 || !webBuildExists()) throw new Error(`next build failed (exit ${code}):\n${output.slice(-4000)}`);
  await buildWorkerBundle();
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
