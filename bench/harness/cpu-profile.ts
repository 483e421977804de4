// V8 CPU profiles (--cpu-prof) read back as tables: self time by where the code lives (a package,
// Node itself, the app's bundle) and by function, for bench/RESULTS.md and the console.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { projectRoot } from "./paths";

/**
 * Sampling every 10 ms rather than V8's default 1 ms: on this kind of virtual machine the profiler's
 * own sampling cost an idle worker about 57 ms of CPU per second at 1 ms and about 10 ms at 10 ms,
 * and every CPU figure of a profiled run carries it. A run of minutes still yields tens of
 * thousands of samples.
 */
export const PROFILE_SAMPLE_MICROSECONDS = 10_000;

/** Node's options that write a CPU profile of the process into `directory` when it exits. */
export function profilerNodeArgs(directory: string): string[] {
  return ["--cpu-prof", `--cpu-prof-dir=${directory}`, `--cpu-prof-interval=${PROFILE_SAMPLE_MICROSECONDS}`];
}

type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** Where a frame's code lives: a package, Node itself, the app's own code, or V8's bookkeeping. */
function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1]!;
  if (url.startsWith("node:")) return "node";
  // The only WebAssembly the app loads is Prisma's query compiler.
  if (url.startsWith("wasm://")) return "WebAssembly (Prisma's query compiler)";
  if (url.includes("/.next/server/")) return "app bundle (.next/server)";
  if (url.includes("/.next/worker/")) return "worker bundle (lib/, .next/worker)";
  if (url.startsWith(projectUrl)) return "app code (lib/, run through tsx)";
  return "other";
}

/** The project's files as V8 names them (file:///…/), shortened to project paths in the tables. */
const projectUrl = pathToFileURL(projectRoot).href + "/";

/** Where a frame's code is, without this machine's folders: a package path, a project path, or a Node module. */
function shortUrl(url: string): string {
  return url.replace(/^.*node_modules\//, "").replace(/^.*\/\.next\//, ".next/").replace(projectUrl, "");
}

export function summariseProfile(profile: CpuProfile): { byPlace: [string, number][]; byFunction: [string, number][]; totalMs: number } {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, index) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000));
  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of selfMs) {
    const frame = nodes.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    totalMs += ms;
    const place = placeOf(frame.url, frame.functionName);
    byPlace.set(place, (byPlace.get(place) ?? 0) + ms);
    const name = `${frame.functionName || "(anonymous)"} ${frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return { byPlace: sorted(byPlace), byFunction: sorted(byFunction), totalMs };
}

export type ProfileSummary = ReturnType<typeof summariseProfile>;

/**
 * The main thread's .cpuprofile of each process in a folder, by pid (Node names them
 * CPU.<date>.<time>.<pid>.<thread>.<n>; thread 0 is the main one, others are e.g. a loader's).
 */
export function profilesByPid(directory: string): Map<number, string> {
  const files = new Map<number, string>();
  let names: string[] = [];
  try {
    names = readdirSync(directory);
  } catch {
    return files;
  }
  for (const name of names) {
    const pid = Number(/^CPU\.\d+\.\d+\.(\d+)\.0\./.exec(name)?.[1]);
    if (Number.isFinite(pid)) files.set(pid, path.join(directory, name));
  }
  return files;
}

export function readProfile(file: string): ProfileSummary {
  return summariseProfile(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
}

/** Markdown tables of a summary: the top places and the top functions by self time. */
export function profileTables(summary: ProfileSummary, places = 10, functions = 15): string {
  const share = (ms: number) => `${((100 * ms) / summary.totalMs).toFixed(1)}%`;
  const lines = ["| where | self time | share |", "|---|---|---|"];
  for (const [place, ms] of summary.byPlace.slice(0, places)) lines.push(`| ${place} | ${ms.toFixed(0)} ms | ${share(ms)} |`);
  lines.push("", "| function | self time | share |", "|---|---|---|");
  for (const [name, ms] of summary.byFunction.slice(0, functions)) lines.push(`| ${name.replace(/\|/g, "\\|")} | ${ms.toFixed(0)} ms | ${share(ms)} |`);
  return lines.join("\n");
}
