// The cost targets of the product specification (§6) as a few figures per run, kept in
// bench/efficiency.json so that the next run prints each beside the one before it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { BenchResults } from "./report";

/** A figure measured in several phases: the lowest and the highest. */
export type Range = { min: number; max: number };

export type EfficiencyFigures = {
  /** Web process CPU per webhook acknowledged, over every acknowledgement phase. */
  cpuPerWebhookMs: Range | null;
  /** Worker processes' CPU per change synced, over the change phases. */
  cpuPerChangeMs: Range | null;
  ackP99At200Ms: number | null;
  changeP95At100Ms: number | null;
  /** Kommo + Klaviyo calls per change, over the one-change-per-deal phases. */
  callsPerChange: Range | null;
  idleStatementsPerWorker: number | null;
  /** The web server's peak RSS plus the largest worker's. */
  peakRssWebAndWorkerMb: number | null;
};

/**
 * How fast the machine was during the run, for comparing runs: on a virtual machine the same code's
 * CPU figures move with the host's load (steal), and what Next.js alone costs per request moves
 * with them while the product's code has nothing to do with it.
 */
export type RunSpeed = { stolenShare: number | null; nextJsMsPerRequest: number | null };

export type EfficiencyRecord = { startedAt: string; quick: boolean; figures: EfficiencyFigures; speed?: RunSpeed };

type Target = { key: keyof EfficiencyFigures; measure: string; target: string; met: (value: number) => boolean; format: (value: number) => string };

const cpuMs = (value: number) => `${value.toFixed(1)} ms`;
const ms = (value: number) => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(value < 10 ? 1 : 0)} ms`);

export const EFFICIENCY_TARGETS: Target[] = [
  { key: "cpuPerWebhookMs", measure: "CPU per webhook acknowledged (web process)", target: "≤ 1 ms", met: (value) => value <= 1, format: cpuMs },
  { key: "cpuPerChangeMs", measure: "CPU per change synced (worker processes)", target: "≤ 4 ms", met: (value) => value <= 4, format: cpuMs },
  { key: "ackP99At200Ms", measure: "webhook ack p99 at 200/s, workers syncing on the host", target: "< 50 ms", met: (value) => value < 50, format: ms },
  { key: "changeP95At100Ms", measure: "change → event p95 at 100 changes/s", target: "< 1 s", met: (value) => value < 1000, format: ms },
  { key: "callsPerChange", measure: "API calls per change (Kommo + Klaviyo), amortised", target: "≤ 2.5", met: (value) => value <= 2.5, format: (value) => value.toFixed(2) },
  { key: "idleStatementsPerWorker", measure: "database statements per second per idle worker", target: "≤ 2", met: (value) => value <= 2, format: (value) => value.toFixed(1) },
  { key: "peakRssWebAndWorkerMb", measure: "peak RSS, web + one worker", target: "< 400 MB", met: (value) => value < 400, format: (value) => `${value.toFixed(0)} MB` },
];

function rangeOf(values: (number | null | undefined)[]): Range | null {
  const present = values.filter((value): value is number => typeof value === "number" && Number.isFinite(value));
  return present.length === 0 ? null : { min: Math.min(...present), max: Math.max(...present) };
}

export function efficiencyFigures(results: BenchResults): EfficiencyFigures {
  const { product } = results;
  const acks = [...product.ack, ...product.ackWebAlone];
  const workers = Object.entries(product.rssMb)
    .filter(([name]) => name.startsWith("worker"))
    .map(([, value]) => value ?? 0);
  const web = product.rssMb.web;
  return {
    cpuPerWebhookMs: rangeOf(acks.map((ack) => ack.cpuMsPerWebhook)),
    cpuPerChangeMs: rangeOf(product.changes.map((change) => change.cpu.othersMs)),
    ackP99At200Ms: product.ack.find((ack) => ack.rate === 200)?.latency.p99 ?? null,
    changeP95At100Ms: product.changes.find((change) => change.rate === 100)?.latency.p95 ?? null,
    callsPerChange: rangeOf(product.changes.map((change) => (change.sent === 0 ? null : (change.calls.kommo + change.calls.klaviyo) / change.sent))),
    idleStatementsPerWorker: product.idleQueriesPerWorker,
    peakRssWebAndWorkerMb: typeof web === "number" && workers.length > 0 ? web + Math.max(...workers) : null,
  };
}

export function runSpeed(results: BenchResults): RunSpeed {
  const floor = results.product.webCost?.nextOnly;
  return {
    stolenShare: results.machine.stolenShare ?? null,
    nextJsMsPerRequest: floor ? floor.userMsPerRequest + floor.kernelMsPerRequest : null,
  };
}

/** The two runs' machine speed, in a sentence under the table. */
export function speedComparison(current: EfficiencyRecord, previous: EfficiencyRecord | null): string {
  const describe = (speed: RunSpeed | undefined) =>
    !speed
      ? "not measured"
      : `steal ${speed.stolenShare === null ? "–" : `${(speed.stolenShare * 100).toFixed(1)}%`}, Next.js alone ${speed.nextJsMsPerRequest === null ? "–" : `${speed.nextJsMsPerRequest.toFixed(2)} ms`} per request`;
  return (
    `CPU figures move with the machine's speed, which on this virtual machine varies from run to run: this run ${describe(current.speed)}` +
    `${previous ? `; the previous run ${describe(previous.speed)}` : ""} (steal: CPU time the hypervisor gave to other machines; Next.js alone: the cost of a request the product's code does not touch, see below).`
  );
}

export function readEfficiency(file: string): EfficiencyRecord | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as EfficiencyRecord;
  } catch {
    return null;
  }
}

export function writeEfficiency(file: string, record: EfficiencyRecord): void {
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}

function cell(target: Target, value: number | Range | null | undefined): string {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return target.format(value);
  return value.min === value.max ? target.format(value.min) : `${target.format(value.min)}–${target.format(value.max)}`;
}

/** Met when the worst figure of the run meets the target. */
function verdict(target: Target, value: number | Range | null): string {
  if (value === null) return "not measured";
  return target.met(typeof value === "number" ? value : value.max) ? "met" : "missed";
}

export function efficiencyTable(current: EfficiencyRecord, previous: EfficiencyRecord | null): string {
  const previousLabel = previous ? `previous run (${previous.startedAt.slice(0, 16).replace("T", " ")} UTC${previous.quick ? ", quick" : ""})` : "previous run";
  const lines = [`| measure | target | ${previousLabel} | this run | |`, "|---|---|---|---|---|"];
  for (const target of EFFICIENCY_TARGETS) {
    const now = current.figures[target.key];
    lines.push(`| ${target.measure} | ${target.target} | ${cell(target, previous?.figures[target.key])} | ${cell(target, now)} | ${verdict(target, now)} |`);
  }
  return lines.join("\n");
}
