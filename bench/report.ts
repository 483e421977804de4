// The benchmark's results as a table (console) and as bench/RESULTS.md: every figure beside its
// target and the naive baseline's, the machine it ran on, and, for every target missed, the
// measurements that say where the time or the calls went.
import type { ActivityResult } from "./activity";
import type { BackfillResult } from "./backfill";
import type { CallCount } from "./changes";
import type { DigitalPipelineResult } from "./digital-pipeline";
import { efficiencyTable, speedComparison, type EfficiencyRecord } from "./efficiency";
import { PROFILE_SAMPLE_MICROSECONDS, profileTables, type ProfileSummary } from "./harness/cpu-profile";
import type { Distribution } from "./load";
import type { AckResult, BurstResult, ChangeResult, ClosedLoopCost } from "./phases";
import type { PhaseMemory } from "./harness/memory-watch";
import { PROCESS_HEAP_LIMIT_MB } from "../lib/platform/heap-limit";
import type { Background } from "./systems";

export type Machine = {
  cpus: number;
  model: string;
  node: string;
  memoryGb: number;
  os: string;
  /** 1-minute load average at the start and the end of the run. */
  loadBefore: number;
  loadAfter: number;
  /** Share of the host's CPU time the hypervisor gave to other machines over the run (steal); null off Linux. */
  stolenShare?: number | null;
};

export type RunConfig = {
  latencyMs: number;
  durationSeconds: number;
  tenants: number;
  dealsPerTenant: number;
  workers: number;
  concurrency: number;
};

export type SystemResults = {
  ack: AckResult[];
  changes: ChangeResult[];
  bursts: BurstResult | null;
  rssMb: Record<string, number | null>;
  throttled: { kommo: number; klaviyo: number };
};

export type ProductResults = SystemResults & {
  /** The acknowledgement rates again with the workers stopped: the web server alone on the host. */
  ackWebAlone: AckResult[];
  backfill: BackfillResult[];
  /** Klaviyo email event -> Kommo note by the poll at the default interval. */
  activity: ActivityResult;
  /** The Digital Pipeline action's hooks (the baseline has no such action); null when not run. */
  digitalPipeline: DigitalPipelineResult | null;
  /** Per change phase: time from the webhook to its sync's start, and the sync's duration. */
  timings: { rate: number; wait: Distribution; sync: Distribution }[];
  introduceSeconds: number;
  /** Database statements per second per worker with nothing to do (before any account is installed). */
  idleQueriesPerWorker: number;
  /** Each process's resident memory at that time (MB). */
  idleRssMb?: Record<string, number | null>;
  /** Each process's highest resident memory in each phase of the run (sampled four times a second). */
  memoryByPhase?: PhaseMemory[];
  /** The installed accounts' background work, with no deal changing. */
  background?: Background;
  /** The warm web server's CPU per request: CRM webhooks, and requests Next.js answers before the handler works. */
  webCost?: { webhook: ClosedLoopCost; nextOnly: ClosedLoopCost };
};

export type BenchResults = {
  machine: Machine;
  /** The run took CPU profiles of the app's processes (--profile). */
  profiled?: boolean;
  config: RunConfig;
  startedAt: Date;
  seconds: number;
  product: ProductResults;
  baseline: SystemResults | null;
};

const ACK_TARGET_MS = 50;
const ACK_TARGET_RATE = 200;
const EVENT_TARGET_MS = 1000;
const DP_EVENT_TARGET_MS = 1000;
const IDLE_QUERIES_TARGET = 2;
const CALLS_TARGET = 2.5;
const BACKFILL_TARGET_SECONDS = 20;
/** The product's own Kommo budget per account (lib/integrations/kommo/rate.ts). */
const KOMMO_CALLS_PER_SECOND = 5;
/** SPEC §6: Klaviyo email event -> Kommo note and pane, with default settings. */
const ACTIVITY_TARGET_SECONDS = 60;

const ms = (value: number | null) => (value === null ? "–" : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(value < 10 ? 1 : 0)} ms`);
const triple = (d: Distribution | undefined) => (!d || d.count === 0 ? "–" : `${ms(d.p50)} / ${ms(d.p95)} / ${ms(d.p99)}`);
const perChange = (calls: number, changes: number) => (changes === 0 ? null : calls / changes);
const fixed = (value: number | null, digits = 2) => (value === null ? "–" : value.toFixed(digits));
const percent = (share: number | null | undefined) => (share === null || share === undefined ? "–" : `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`);
const busyCell = (busy: number, stolen: number | null | undefined) => `${(busy * 100).toFixed(0)}%${stolen ? ` (steal ${percent(stolen)})` : ""}`;
const drain = (value: number | null) => (value === null ? "not drained" : ms(value));

type Row = { measure: string; target: string; product: string; baseline: string; verdict: "met" | "missed" | "" };

function callsCell(calls: CallCount | undefined, changes: number): string {
  if (!calls || changes === 0) return "–";
  const kommo = perChange(calls.kommo, changes)!;
  const klaviyo = perChange(calls.klaviyo, changes)!;
  return `${fixed(kommo)} + ${fixed(klaviyo)} = **${fixed(kommo + klaviyo)}**`;
}

function rows(results: BenchResults): Row[] {
  const { product, baseline } = results;
  const out: Row[] = [];
  const ackRows = (entries: AckResult[], where: string, compare: boolean) => {
    for (const ack of entries) {
      const other = compare ? baseline?.ack.find((entry) => entry.rate === ack.rate) : undefined;
      const targeted = ack.rate === ACK_TARGET_RATE;
      const p99 = ack.latency.p99;
      const cell = (entry: AckResult) =>
        `${triple(entry.latency)}${entry.overKommoLimit ? `; ${entry.overKommoLimit} answered after 2 s` : ""}${entry.failed ? `; ${entry.failed} failed` : ""}`;
      out.push({
        measure: `webhook ack p50 / p95 / p99 at ${ack.rate}/s (${ack.sent} webhooks), ${where}`,
        target: targeted ? `p99 < ${ACK_TARGET_MS} ms` : "(Kommo's limit: 2 s)",
        product: cell(ack),
        baseline: other ? cell(other) : compare ? "–" : "(one process; see above)",
        verdict: targeted ? (p99 !== null && p99 < ACK_TARGET_MS && ack.failed === 0 ? "met" : "missed") : "",
      });
    }
  };
  ackRows(product.ack, "web and workers on the host", true);
  ackRows(product.ackWebAlone, "web server alone (workers stopped)", false);
  const dp = product.digitalPipeline;
  if (dp) {
    const failed = dp.failed ? `; ${dp.failed} failed` : "";
    out.push({
      measure: `Digital Pipeline hook ack p50 / p95 / p99 at ${dp.rate}/s (${dp.sent} hooks, each with its CRM webhook), web and workers on the host`,
      target: `p99 < ${ACK_TARGET_MS} ms`,
      product: `${triple(dp.ack)}${failed}`,
      baseline: "(no such action)",
      verdict: dp.ack.p99 !== null && dp.ack.p99 < ACK_TARGET_MS && dp.failed === 0 ? "met" : "missed",
    });
    out.push({
      measure: `Digital Pipeline hook → Klaviyo event accepted, p50 / p95 / p99 at ${dp.rate}/s`,
      target: `p95 < ${DP_EVENT_TARGET_MS / 1000} s`,
      product: `${triple(dp.hookToEvent)}${dp.lost ? `; **${dp.lost} never accepted**` : ""}`,
      baseline: "(no such action)",
      verdict: dp.hookToEvent.p95 !== null && dp.hookToEvent.p95 < DP_EVENT_TARGET_MS && dp.lost === 0 ? "met" : "missed",
    });
  }
  for (const change of product.changes) {
    const other = baseline?.changes.find((entry) => entry.rate === change.rate);
    const p95 = change.latency.p95;
    out.push({
      measure: `Kommo change → Klaviyo event accepted, p50 / p95 / p99 at ${change.rate} changes/s (${change.sent} changes)`,
      target: `p95 < ${EVENT_TARGET_MS / 1000} s`,
      product: `${triple(change.latency)}${change.lost ? `; **${change.lost} never accepted**` : ""}`,
      baseline: other ? `${triple(other.latency)}${other.lost ? `; **${other.lost} lost**` : ""}` : "–",
      verdict: p95 !== null && p95 < EVENT_TARGET_MS && change.lost === 0 ? "met" : "missed",
    });
  }
  for (const change of product.changes) {
    const other = baseline?.changes.find((entry) => entry.rate === change.rate);
    const total = perChange(change.calls.kommo + change.calls.klaviyo, change.sent);
    out.push({
      measure: `API calls per change (Kommo + Klaviyo), one change per deal at ${change.rate}/s`,
      target: `≤ ${CALLS_TARGET} amortised`,
      product: callsCell(change.calls, change.sent),
      baseline: callsCell(other?.calls, other?.sent ?? 0),
      verdict: total !== null && total <= CALLS_TARGET ? "met" : "missed",
    });
  }
  if (product.bursts) {
    const bursts = product.bursts;
    const total = perChange(bursts.calls.kommo + bursts.calls.klaviyo, bursts.changes);
    out.push({
      measure: `API calls per change (Kommo + Klaviyo), bursts of ${bursts.burst} webhooks for one deal (${bursts.leads} deals)`,
      target: `≤ ${CALLS_TARGET} amortised`,
      product: `${callsCell(bursts.calls, bursts.changes)}${bursts.lost ? `; ${bursts.lost} never accepted` : ""}`,
      baseline: baseline?.bursts ? `${callsCell(baseline.bursts.calls, baseline.bursts.changes)}${baseline.bursts.lost ? `; ${baseline.bursts.lost} lost` : ""}` : "–",
      verdict: total !== null && total <= CALLS_TARGET && bursts.lost === 0 ? "met" : "missed",
    });
  }
  for (const backfill of product.backfill) {
    const targeted = backfill.deals === 10_000;
    const value = !backfill.available
      ? "not available"
      : backfill.seconds === null
        ? `not finished (${backfill.status})`
        : `${backfill.seconds.toFixed(1)} s (${backfill.done} of ${backfill.total ?? "?"} deals, ${backfill.errors} errors, ${backfill.status})`;
    out.push({
      measure: `backfill of ${backfill.deals.toLocaleString("en-US")} deals with contacts`,
      target: targeted ? `< ${BACKFILL_TARGET_SECONDS} s` : "–",
      product: value,
      baseline: "(no import in the reference design)",
      verdict: !targeted || !backfill.available ? "" : backfill.seconds !== null && backfill.seconds < BACKFILL_TARGET_SECONDS && backfill.status === "completed" ? "met" : "missed",
    });
  }
  {
    const { activity } = product;
    const p95 = activity.latency.p95;
    const all = activity.noted === activity.events;
    out.push({
      measure: "Klaviyo email event -> Kommo note, p95, default poll interval (60 s)",
      target: `< ${ACTIVITY_TARGET_SECONDS} s`,
      product:
        p95 === null
          ? `no note within ${activity.timeoutMs / 1000} s`
          : `${(p95 / 1000).toFixed(1)} s (p50 ${((activity.latency.p50 ?? 0) / 1000).toFixed(1)} s, max ${((activity.latency.max ?? 0) / 1000).toFixed(1)} s; ${activity.noted} of ${activity.events} noted)`,
      baseline: "(the reference design has no activity notes)",
      verdict: p95 !== null && all && p95 < ACTIVITY_TARGET_SECONDS * 1000 ? "met" : "missed",
    });
  }
  const rss = (values: Record<string, number | null>) =>
    Object.entries(values)
      .map(([name, value]) => `${name} ${value ?? "?"} MB`)
      .join(", ");
  out.push({
    measure: "database statements per second per idle worker (nothing installed, nothing queued)",
    target: `≤ ${IDLE_QUERIES_TARGET}`,
    product: fixed(product.idleQueriesPerWorker, 1),
    baseline: "(no queue)",
    verdict: product.idleQueriesPerWorker <= IDLE_QUERIES_TARGET ? "met" : "missed",
  });
  out.push({ measure: "peak RSS per process", target: "–", product: rss(product.rssMb), baseline: baseline ? rss(baseline.rssMb) : "–", verdict: "" });
  const throttledProduct = product.throttled.kommo + product.throttled.klaviyo;
  out.push({
    measure: "429 answers received, whole run (Kommo / Klaviyo)",
    target: "never a 429 storm",
    product: `${product.throttled.kommo} / ${product.throttled.klaviyo}`,
    baseline: baseline ? `${baseline.throttled.kommo} / ${baseline.throttled.klaviyo}` : "–",
    verdict: throttledProduct === 0 ? "met" : "missed",
  });
  return out;
}

function table(results: BenchResults): string {
  const header = ["| measure | target | this product | naive baseline | |", "|---|---|---|---|---|"];
  return [...header, ...rows(results).map((row) => `| ${row.measure} | ${row.target} | ${row.product} | ${row.baseline} | ${row.verdict} |`)].join("\n");
}

function routeBreakdown(calls: CallCount, changes: number): string {
  return Object.entries(calls.byRoute)
    .sort((a, b) => b[1] - a[1])
    .map(([route, count]) => `${route} ${(count / changes).toFixed(2)}`)
    .join(", ");
}

/** The workers' CPU per change (busiest change phase), as the cost the acknowledgements compete with. */
function workersNote(results: BenchResults): string {
  const busiest = results.product.changes.at(-1);
  if (!busiest?.cpu.othersMs) return "";
  return `Meanwhile the workers sync what arrives, at about ${fixed(busiest.cpu.othersMs, 0)} ms of CPU per change (see the change phases): at ${ACK_TARGET_RATE} changes/s that is ${fixed((busiest.cpu.othersMs * ACK_TARGET_RATE) / 1000, 1)} cores, so on this host the web server gets only part of a core. `;
}

/** ", where the naive baseline spent N ms per change in all", for the same rate. */
function baselineCpu(results: BenchResults, rate: number): string {
  const other = results.baseline?.changes.find((entry) => entry.rate === rate);
  return other?.cpu.receiverMs ? ` (the naive baseline spent ${fixed(other.cpu.receiverMs, 0)} ms per change in all)` : "";
}

/** What the measurements say about each target missed. */
function explanations(results: BenchResults): string[] {
  const { product, machine } = results;
  const notes: string[] = [];
  const contention = `The host has ${machine.cpus} cores; its 1-minute load average was ${machine.loadBefore.toFixed(1)} at the start and ${machine.loadAfter.toFixed(1)} at the end of the run (other work on the machine included), and the simulators and the load generator run on the same cores as the app.`;

  for (const [ack, where] of [
    [product.ack.find((entry) => entry.rate === ACK_TARGET_RATE), "with the workers syncing on the same host"],
    [product.ackWebAlone.find((entry) => entry.rate === ACK_TARGET_RATE), "web server alone"],
  ] as const) {
    if (!ack || (ack.latency.p99 !== null && ack.latency.p99 < ACK_TARGET_MS && ack.failed === 0)) continue;
    const workersBusy = where.startsWith("with") ? workersNote(results) : "";
    notes.push(
      `**Webhook ack at ${ACK_TARGET_RATE}/s, ${where}: p99 ${ms(ack.latency.p99)} (target < ${ACK_TARGET_MS} ms)${ack.failed ? `, ${ack.failed} not answered within 10 s` : ""}.** An acknowledgement is one hook-key lookup and one transaction (event row + job row); the web server used ${fixed(ack.cpuMsPerWebhook, 1)} ms of CPU per webhook, so ${ACK_TARGET_RATE}/s needs ${fixed(ack.cpuMsPerWebhook === null ? null : (ack.cpuMsPerWebhook * ACK_TARGET_RATE) / 10, 0)}% of one core for the web server alone. One web process is one Node event loop: past about ${ack.cpuMsPerWebhook ? Math.floor(1000 / ack.cpuMsPerWebhook) : "?"} webhooks/s it can only queue, however many cores the host has; a second web process behind the load balancer (README, "Scaling out") would use the other core. ${workersBusy}The host's CPUs were ${(ack.hostBusy * 100).toFixed(0)}% busy during the phase and the load generator's own event loop lagged up to ${ms(ack.loopDelayP99Ms)} (p99), which is counted in the latency. ${contention}`,
    );
  }
  for (const change of product.changes) {
    const timing = product.timings.find((entry) => entry.rate === change.rate);
    if (change.latency.p95 !== null && change.latency.p95 < EVENT_TARGET_MS && change.lost === 0) continue;
    notes.push(
      `**Change → event at ${change.rate}/s: p95 ${ms(change.latency.p95)} (target < ${EVENT_TARGET_MS / 1000} s)${change.lost ? `, ${change.lost} changes without an accepted event` : ""}.** ` +
        (timing
          ? `From the webhook to the start of the sync that applied it: p50 ${ms(timing.wait.p50)}, p95 ${ms(timing.wait.p95)} (waiting for a free worker slot and the deal's lease); the sync itself: p50 ${ms(timing.sync.p50)}, p95 ${ms(timing.sync.p95)}. `
          : "") +
        `A sync reads the lead, then its company (and its contact when the cache cannot answer), all paced by Kommo's per-account budget (burst 1, then 5/s), then makes ${fixed(perChange(change.calls.klaviyo, change.sent))} Klaviyo calls per change one after another with ${results.config.latencyMs} ms latency each, and one Postgres statement per call for the shared rate limiter. ` +
        (change.cpu.othersMs !== null
          ? `The workers used ${fixed(change.cpu.othersMs, 0)} ms of CPU per change (the web server ${fixed(change.cpu.receiverMs, 0)} ms): ${change.rate} changes/s need ${fixed((change.cpu.othersMs + (change.cpu.receiverMs ?? 0)) * change.rate / 1000, 1)} cores for the app alone, and the host's CPUs were ${(change.hostBusy * 100).toFixed(0)}% busy${baselineCpu(results, change.rate)}. `
          : "") +
        (results.profiled
          ? "Where the workers' CPU goes is in the profiles below (\"Where the CPU goes\"). "
          : "Run with --profile for where the workers' CPU goes. ") +
        contention,
    );
  }
  const callRows = [...product.changes.map((change) => ({ label: `one change per deal at ${change.rate}/s`, calls: change.calls, changes: change.sent }))];
  if (product.bursts) callRows.push({ label: `bursts of ${product.bursts.burst}`, calls: product.bursts.calls, changes: product.bursts.changes });
  const overBudget = callRows.filter((row) => (row.calls.kommo + row.calls.klaviyo) / Math.max(1, row.changes) > CALLS_TARGET);
  if (overBudget.length > 0) {
    notes.push(
      `**API calls per change above ${CALLS_TARGET}.** Per change, by route: ${overBudget.map((row) => `${row.label}: ${routeBreakdown(row.calls, row.changes)}`).join("; ")}. ` +
        "A sync of a known deal reads the lead (its main contact comes from the contact cache unless a contact change or its expiry after an hour sends it to Kommo) and, when the deal has one, its company; it sends the list moves the mapping asks for and one event per change, which carries the profile's new attributes. A contact seen for the first time, or read again, costs a contact read and a profile import. What is left to save: the company read (companies are not cached yet: a company's change would have to be traced to the deals it belongs to), and the list calls of a move (one add, one removal).",
    );
  }
  for (const backfill of product.backfill) {
    if (!backfill.available) notes.push(`**Backfill of ${backfill.deals.toLocaleString("en-US")} deals: not measured.** ${backfill.reason}.`);
    else if (backfill.deals === 10_000 && !(backfill.seconds !== null && backfill.seconds < BACKFILL_TARGET_SECONDS && backfill.status === "completed")) {
      notes.push(
        `**Backfill of 10,000 deals: ${backfill.seconds === null ? "did not finish" : `${backfill.seconds.toFixed(1)} s`} (target < ${BACKFILL_TARGET_SECONDS} s).** It made ${backfill.calls.kommo + backfill.calls.klaviyo + backfill.calls.background} API calls (${backfill.calls.throttled.kommo} Kommo and ${backfill.calls.throttled.klaviyo} Klaviyo answers were 429). Its ${backfill.kommoRequests} Kommo requests (pages of 250 leads, then their contacts and companies) alone take at least ${(backfill.kommoRequests / KOMMO_CALLS_PER_SECOND).toFixed(1)} s at the ${KOMMO_CALLS_PER_SECOND} calls per second the product allows itself per account, under Kommo's 7 (a margin that keeps jitter and a stalled process from ever earning a 429, which Kommo answers with a 300 s wait and repeated ones with an IP block). ${contention}`,
      );
    }
  }
  {
    const { activity } = product;
    const p95 = activity.latency.p95;
    if (p95 === null || activity.noted < activity.events || p95 >= ACTIVITY_TARGET_SECONDS * 1000) {
      notes.push(
        `**Klaviyo email event -> Kommo note: p95 ${p95 === null ? "none" : `${(p95 / 1000).toFixed(1)} s`} (target < ${ACTIVITY_TARGET_SECONDS} s), ${activity.noted} of ${activity.events} noted.** Notes come from each account's poll, every ${ACTIVITY_TARGET_SECONDS} s by default: an event waits for the next poll (up to one interval; the events are spread over more than one so that they fall at every point of it), then for the poll's reads and the note's write. So the p95 sits just under the interval plus a poll's duration, and a busy host pushes it over; the deal-card pane does not wait for the poll (it reads Klaviyo live), and a shorter KLAVIYO_ACTIVITY_POLL_SECONDS or Klaviyo's webhooks (registered when the key allows) bring notes sooner.`,
      );
    }
  }
  if (product.throttled.kommo + product.throttled.klaviyo > 0) {
    notes.push(
      `**429 answers: ${product.throttled.kommo} from Kommo, ${product.throttled.klaviyo} from Klaviyo over the whole run.** Each one paused that account's calls to that endpoint for the Retry-After given, for every worker (no storm followed: see the fault suite's storm scenario); a few come from the shared token bucket's refill racing the simulators' fixed one-second windows.`,
    );
  }
  return notes;
}

/** What the baseline's own figures show, for the reader comparing. */
function baselineNotes(results: BenchResults): string[] {
  const { baseline } = results;
  if (!baseline) return ["The baseline was not run (--no-baseline)."];
  const notes: string[] = [];
  const lost = [...baseline.changes.map((change) => change.lost), baseline.bursts?.lost ?? 0].reduce((a, b) => a + b, 0);
  notes.push(
    `It answers a webhook only after its five calls, so its acknowledgement is five API round trips (≥ ${5 * results.config.latencyMs} ms here) and grows with every slow call; Kommo gives up after 2 s.`,
  );
  if (baseline.throttled.kommo + baseline.throttled.klaviyo > 0) {
    notes.push(
      `Nothing paces its calls: it received ${baseline.throttled.kommo} 429s from Kommo and ${baseline.throttled.klaviyo} from Klaviyo; each failed the webhook (answered 500), and every re-delivery spent its five calls again.`,
    );
  }
  if (lost > 0) {
    notes.push(
      `${lost} of its changes never produced their event: it reads the deal as it is when the webhook is handled, so in a burst the deal has already moved on and the event names the wrong stages.`,
    );
  }
  return notes;
}

function phaseDetails(results: BenchResults): string {
  const lines = [
    "| phase | system | sent | failed / lost | time to apply everything after the last webhook | host CPU busy | CPU per webhook or change (web server / baseline; workers) | load generator loop delay p99 |",
    "|---|---|---|---|---|---|---|---|",
  ];
  const systems: [string, SystemResults | null][] = [
    ["product", results.product],
    ["naive baseline", results.baseline],
  ];
  for (const [label, system] of systems) {
    if (!system) continue;
    const webAlone = "ackWebAlone" in system ? (system as ProductResults).ackWebAlone : [];
    for (const [ack, suffix] of [...system.ack.map((entry) => [entry, ""] as const), ...webAlone.map((entry) => [entry, ", web alone"] as const)]) {
      lines.push(
        `| ack ${ack.rate}/s${suffix} | ${label} | ${ack.sent} | ${ack.failed} | ${suffix ? "(no workers)" : drain(ack.drainMs)} | ${busyCell(ack.hostBusy, ack.hostStolen)} | ${fixed(ack.cpuMsPerWebhook, 1)} ms | ${ms(ack.loopDelayP99Ms)} |`,
      );
    }
    for (const change of system.changes) {
      lines.push(
        `| changes ${change.rate}/s | ${label} | ${change.sent} | ${change.retriedDeliveries} deliveries retried, ${change.lost} without event | ${drain(change.drainMs)} | ${busyCell(change.hostBusy, change.hostStolen)} | ${fixed(change.cpu.receiverMs, 1)} ms per change${change.cpu.othersMs ? ` (workers ${fixed(change.cpu.othersMs, 1)} ms)` : ""} | |`,
      );
    }
    if (system.bursts) lines.push(`| bursts | ${label} | ${system.bursts.changes} | ${system.bursts.lost} without event | ${drain(system.bursts.drainMs)} | | | |`);
  }
  return lines.join("\n");
}

export function consoleTable(results: BenchResults): string {
  return table(results);
}

export type ProcessProfile = { name: string; summary: ProfileSummary };

/** The cost targets beside the previous run's figures, and CPU profiles of this run when it took them. */
export type RunExtras = { efficiency: { current: EfficiencyRecord; previous: EfficiencyRecord | null }; profiles: ProcessProfile[] | null };

const SOCKET_WRITES = new Set(["writev", "writeBuffer", "writeUtf8String", "writeLatin1String"]);

/** "next 16%, node 27%, …; socket writes 20%": the top places of a profile and its share in socket writes. */
function profileGist(summary: ProfileSummary, places = 5): string {
  const share = (ms: number) => `${((100 * ms) / summary.totalMs).toFixed(0)}%`;
  const writes = summary.byFunction.filter(([name]) => SOCKET_WRITES.has(name.trim())).reduce((total, [, ms]) => total + ms, 0);
  return `${summary.byPlace
    .slice(0, places)
    .map(([place, ms]) => `${place} ${share(ms)}`)
    .join(", ")}; of all of it, writes to sockets (Postgres, HTTP) ${share(writes)}`;
}

const perRequest = (cost: ClosedLoopCost) => cost.userMsPerRequest + cost.kernelMsPerRequest;

/** Workers' CPU per change net of the background work they did meanwhile (the same CPU per second as with no change). */
function netCpuPerChange(change: ChangeResult, background: Background | undefined): number | null {
  if (change.cpu.othersMs === null || !background?.workersCpuMsPerSecond || !change.cpuWindowMs || change.sent === 0) return null;
  return Math.max(0, change.cpu.othersMs - (background.workersCpuMsPerSecond * change.cpuWindowMs) / 1000 / change.sent);
}

/** The measurements the cost targets are explained with: warm cost per request, background work, memory at rest. */
function costComposition(results: BenchResults): string {
  const { product } = results;
  const lines = ["| what | measured |", "|---|---|"];
  if (product.webCost) {
    const { webhook, nextOnly } = product.webCost;
    lines.push(
      `| web server CPU per CRM webhook, warm, back to back (${webhook.requests}, 4 in flight) | ${perRequest(webhook).toFixed(2)} ms (${webhook.userMsPerRequest.toFixed(2)} user, ${webhook.kernelMsPerRequest.toFixed(2)} kernel)${webhook.unexpected ? `; ${webhook.unexpected} not answered 200` : ""} |`,
      `| the same requests at a malformed hook key: Next.js and Node's HTTP alone, answered 404 before the handler reads anything | ${perRequest(nextOnly).toFixed(2)} ms (${nextOnly.userMsPerRequest.toFixed(2)} user, ${nextOnly.kernelMsPerRequest.toFixed(2)} kernel)${nextOnly.unexpected ? `; ${nextOnly.unexpected} not answered 404` : ""} |`,
      `| so the webhook handler's own work | ${(perRequest(webhook) - perRequest(nextOnly)).toFixed(2)} ms |`,
    );
  }
  if (product.background) {
    const background = product.background;
    const jobs = Object.entries(background.jobs).map(([queue, count]) => `${queue} ${count}`).join(", ") || "none";
    lines.push(
      `| background of the ${results.config.tenants + product.backfill.length} installed accounts, no deal changing (${background.seconds} s) | workers ${fixed(background.workersCpuMsPerSecond, 0)} ms of CPU per second, web ${fixed(background.webCpuMsPerSecond, 0)} ms/s; ${background.statementsPerSecond.toFixed(0)} statements/s; jobs that ran: ${jobs} |`,
    );
    for (const change of product.changes) {
      const net = netCpuPerChange(change, background);
      if (net !== null) lines.push(`| workers' CPU per change at ${change.rate}/s, net of that background | ${net.toFixed(1)} ms (gross ${fixed(change.cpu.othersMs, 1)} ms) |`);
    }
  }
  if (product.idleRssMb) {
    lines.push(`| resident memory at start, nothing installed | ${Object.entries(product.idleRssMb).map(([name, mb]) => `${name} ${mb ?? "–"} MB`).join(", ")} |`);
  }
  return lines.length > 2 ? lines.join("\n") : "";
}

/** Each process's highest resident memory per phase: where the peak RSS comes from. */
function memoryByPhase(product: ProductResults): string {
  const phases = product.memoryByPhase ?? [];
  if (phases.length === 0) return "";
  const names = [...new Set(phases.flatMap((phase) => Object.keys(phase.peakMb)))];
  const header = `| phase (as the run logged it) | ${names.join(" | ")} | web + largest worker |\n|---|${names.map(() => "---|").join("")}---|`;
  const lines = phases.map((phase) => {
    const web = phase.peakMb.web ?? 0;
    const worker = Math.max(0, ...Object.entries(phase.peakMb).filter(([name]) => name !== "web").map(([, mb]) => mb));
    return `| ${phase.phase.replace(/\|/g, "/")} | ${names.map((name) => (phase.peakMb[name] === undefined ? "–" : `${phase.peakMb[name]} MB`)).join(" | ")} | ${web + worker} MB |`;
  });
  return `Resident memory, the highest reading of each process in each phase (sampled every 250 ms; the peak RSS figure is the kernel's high-water mark over the whole run):\n\n${header}\n${lines.join("\n")}`;
}

/** The cost targets missed, each with what this run's measurements and profiles say of it. */
function efficiencyNotes(results: BenchResults, extras: RunExtras): string[] {
  const { figures } = extras.efficiency.current;
  const { product } = results;
  const notes: string[] = [];
  const profileOf = (name: string) => extras.profiles?.find((profile) => profile.name === name)?.summary;
  const web = profileOf("web");
  const worker = profileOf("worker-1");
  if (figures.cpuPerWebhookMs && figures.cpuPerWebhookMs.max > 1) {
    const cost = product.webCost;
    notes.push(
      `**CPU per webhook: ${figures.cpuPerWebhookMs.min.toFixed(1)}–${figures.cpuPerWebhookMs.max.toFixed(1)} ms (target ≤ 1 ms).** In the acknowledgement phases the figure also holds the process waking for each request at the low rates (the highest figures) and queueing at the high ones. ` +
        (cost
          ? `Back to back on the warm server a webhook costs ${perRequest(cost.webhook).toFixed(2)} ms, and the same requests at a malformed hook key, answered 404 by the route before it reads the body or the database, ${perRequest(cost.nextOnly).toFixed(2)} ms: that is Next.js routing the request and Node's HTTP, before any code of the product runs. The handler's own work (hook-key lookup, parsing, the transaction that records the events and their jobs) is ${(perRequest(cost.webhook) - perRequest(cost.nextOnly)).toFixed(2)} ms. ${
              perRequest(cost.nextOnly) > 1
                ? "Next.js alone is above the target on this machine, so no handler served by it can meet it"
                : `Next.js alone takes ${(100 * perRequest(cost.nextOnly)).toFixed(0)}% of the 1 ms, which leaves the handler ${(1 - perRequest(cost.nextOnly)).toFixed(2)} ms`
            }; meeting the target would take the webhook route out of Next.js into a server of its own, which the stack does not have. `
          : "") +
        (web ? `The web server's profile (whole run): ${profileGist(web)}.` : "Run with --profile for where it goes."),
    );
  }
  if (figures.cpuPerChangeMs && figures.cpuPerChangeMs.max > 4) {
    const nets = product.changes.map((change) => ({ rate: change.rate, net: netCpuPerChange(change, product.background) })).filter((entry) => entry.net !== null);
    notes.push(
      `**CPU per change synced: ${figures.cpuPerChangeMs.min.toFixed(1)}–${figures.cpuPerChangeMs.max.toFixed(1)} ms (target ≤ 4 ms).** The figure divides all the workers' CPU during a phase by its changes, and the workers meanwhile do the installed accounts' background work (each account's email-activity poll every minute, six Klaviyo reads; reconciliation every five minutes): ` +
        (product.background?.workersCpuMsPerSecond != null ? `${product.background.workersCpuMsPerSecond.toFixed(0)} ms of CPU per second with no deal changing, which weighs most at the lowest rate. ` : "which weighs most at the lowest rate. ") +
        (nets.length ? `Net of it a change cost ${nets.map((entry) => `${entry.net!.toFixed(1)} ms at ${entry.rate}/s`).join(" and ")}. ` : "") +
        `A sync is about ten Postgres statements (pg-boss's fetch and completion, the deal's lease with the account, the pending changes, the caches, one rate-limit reservation per API call, the outcome) and its API calls; each statement and each call is a socket write and a read. ` +
        (worker ? `A worker's profile (whole run): ${profileGist(worker)}.` : "Run with --profile for where it goes."),
    );
  }
  if (figures.peakRssWebAndWorkerMb !== null && figures.peakRssWebAndWorkerMb >= 400) {
    const idle = product.idleRssMb;
    const idleWorker = idle ? Math.max(...Object.entries(idle).filter(([name]) => name.startsWith("worker")).map(([, mb]) => mb ?? 0)) : null;
    notes.push(
      `**Peak RSS, web + one worker: ${figures.peakRssWebAndWorkerMb.toFixed(0)} MB (target < 400 MB).** ` +
        (idle ? `At start, before any account was installed, the web server held ${idle.web ?? "–"} MB and a worker ${idleWorker} MB: ${(idle.web ?? 0) + (idleWorker ?? 0)} MB of the budget before any work. ` : "") +
        `Each is a Node.js process (about 40 MB bare) with its libraries loaded: the Next.js server and the code of the routes it served; in a worker, its bundle with Prisma's client and query compiler (WebAssembly), pg-boss and the integrations. The rest is V8's heap under load: each process's old generation is capped (${PROCESS_HEAP_LIMIT_MB} MB, lib/platform/heap-limit.ts), so V8 collects when it has grown by about a third; its young generation is left at V8's default (capping it at 4 MB saved about 20 MB per process but cost the web server 12–19% more CPU per request). The table of memory by phase shows where the peak is reached.` +
        (results.profiled ? " This run also held CPU profiles in memory (--profile), which adds to every process's peak." : ""),
    );
  }
  return notes;
}

function profileSection(profiles: ProcessProfile[]): string {
  return [
    `V8's sampling profiler (\`--cpu-prof\`, a sample every ${PROFILE_SAMPLE_MICROSECONDS / 1000} ms) over each process's whole life in this run: start-up, the first sync of every deal and every phase. Self time, grouped by where the code lives, then the top functions. The sampling costs each process some CPU of its own (about 10 ms per second on an idle worker of this machine), which every CPU figure of a profiled run includes.`,
    ...profiles.map((profile) => `### ${profile.name} (${(profile.summary.totalMs / 1000).toFixed(1)} s of CPU sampled)\n\n${profileTables(profile.summary)}`),
  ].join("\n\n");
}

export function resultsMarkdown(results: BenchResults, extras: RunExtras): string {
  const { machine, config } = results;
  const notes = [...explanations(results), ...efficiencyNotes(results, extras)];
  return `# Benchmark results

Written by \`npm run bench\` on ${results.startedAt.toISOString()} (${Math.round(results.seconds)} s run). Every figure of the product is
beside its target (the product specification's non-functional targets) and beside the same workload sent
through the **naive baseline** (\`bench/naive-baseline.ts\`): the reference design that answers each webhook
after doing the whole sync itself, five API calls in a row.

## Machine

| | |
|---|---|
| CPUs | ${machine.cpus} × ${machine.model} |
| memory | ${machine.memoryGb.toFixed(1)} GB |
| Node.js | ${machine.node} |
| OS | ${machine.os} |
| load average (1 min) at start / end | ${machine.loadBefore.toFixed(2)} / ${machine.loadAfter.toFixed(2)} |
| CPU time taken by the hypervisor for other machines (steal), over the run | ${percent(machine.stolenShare)} |

## Set-up

The production build (\`next start\`) and ${config.workers} worker processes (\`WORKER_CONCURRENCY=${config.concurrency}\`) on a fresh
PostgreSQL database, against the Kommo and Klaviyo simulators in the benchmark's own process on 127.0.0.1:
${config.latencyMs} ms latency on every API answer, Kommo's 7 requests/s per account and Klaviyo's
per-endpoint limits enforced. ${config.tenants} installed Kommo accounts, each with its own Klaviyo account
and ${config.dealsPerTenant} deals (a contact with e-mail and phone each, a company for every other one),
two stages and Won mapped to lists, an all-deals list, "remove from the previous stage's list" on. Every
deal is synced once before anything is measured (${results.product.introduceSeconds.toFixed(0)} s).

Phases, in this order, each applied completely before the next starts: changes at 10/s and at 100/s (each
a different deal moved to its next stage, consecutive changes in different accounts; a delivery that is
not answered 200 is delivered again every 0.5 s, as a sender that does not give up would, and the change
is timed from its first delivery to Klaviyo's answer accepting its event); bursts (${results.product.bursts?.burst ?? 5}
webhooks 20 ms apart for one deal, ${results.product.bursts?.leads ?? 20} deals of different accounts at once); webhook acknowledgement at 50, 200
and 500/s while the workers sync what arrives; Digital Pipeline hooks (the product only: each a deal moved
to a stage carrying the "Send to Klaviyo" action, its CRM webhook and the action's JSON hook sent together,
timed from the hook to Klaviyo's answer accepting the action's event); the backfills; then the acknowledgement rates again with the
workers stopped (the web server alone on the host, as when workers run on other machines). Rates are open
loop (webhooks leave on schedule, answered or not) for ${config.durationSeconds} s each; a webhook not answered within 10 s
counts as failed. The baseline gets its own ${config.tenants} accounts of the same shape and the same phases.

## Results

${table(results)}

p50 / p95 / p99. "API calls per change": Kommo + Klaviyo calls a sync made (retries included), per deal
change; background work (reconciliation's events feed, the email-activity poll, token refreshes) is not in
them. Changes are timed from sending the webhook to Klaviyo's answer accepting the event.

## Cost targets, beside the previous run

${efficiencyTable(extras.efficiency.current, extras.efficiency.previous)}

${speedComparison(extras.efficiency.current, extras.efficiency.previous)}

Ranges are the lowest and highest figure over the phases that measure it (CPU per webhook: every
acknowledgement phase; CPU per change and API calls: the change phases); a target is met when the highest is.

What these costs are made of, measured in the same run:

${costComposition(results)}

${memoryByPhase(results.product)}

## Phases

${phaseDetails(results)}
${extras.profiles ? `\n## Where the CPU goes\n\n${profileSection(extras.profiles)}\n` : ""}
## Targets missed, and why

${notes.length ? notes.map((note) => `- ${note}`).join("\n") : "None."}

## The baseline

${baselineNotes(results).map((note) => `- ${note}`).join("\n")}
`;
}
