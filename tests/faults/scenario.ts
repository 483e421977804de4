// One fault scenario from start to verdict: fresh tenants, the workload with the fault injected,
// the wait until every recorded change has been applied, and the comparison of what Klaviyo holds
// with what the changes must have produced. The results are kept for the suite's report.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { createTenants, type Tenant } from "../../bench/harness/accounts";
import type { LedgerReport } from "../../bench/harness/ledger";
import { projectRoot } from "../../bench/harness/paths";
import type { FaultEnvironment } from "./environment";
import { runWorkload, type Workload, type WorkloadOptions } from "./workload";

export type ScenarioResult = {
  name: string;
  report: LedgerReport;
  deliveries: number;
  retriedDeliveries: number;
  /** From the last delivery to nothing pending (ms); null: not drained in time. */
  drainMs: number | null;
  /** What the fault did, in numbers (e.g. "412 answers 429"). */
  injected: string;
};

export const results: ScenarioResult[] = [];

let nextTag = 1;

export function newTenants(env: FaultEnvironment, count: number): Promise<Tenant[]> {
  const first = nextTag;
  nextTag += count;
  return createTenants(env.context, count, first, 4);
}

export type RunOptions = Omit<WorkloadOptions, "tenants"> & {
  name: string;
  tenants: Tenant[];
  drainTimeoutMs?: number;
  /** Summarise the injected fault once the run has drained. */
  describeFault: () => string;
};

export async function runScenario(env: FaultEnvironment, options: RunOptions): Promise<ScenarioResult & { workload: Workload }> {
  const workload = await runWorkload(env, options);
  const accountIds = options.tenants.map((tenant) => tenant.accountId);
  const drainMs = await env.observer.drained(accountIds, options.drainTimeoutMs ?? 120_000);
  const result: ScenarioResult = {
    name: options.name,
    report: workload.ledger.compare(env.sims.klaviyo, options.tenants),
    deliveries: workload.deliveries,
    retriedDeliveries: workload.retriedDeliveries,
    drainMs,
    injected: options.describeFault(),
  };
  results.push(result);
  return { ...result, workload };
}

/** The promise of the product: every change reached Klaviyo exactly once, and profiles are current. */
export function expectNothingLostOrDuplicated(result: ScenarioResult): void {
  const { report } = result;
  const verdict = { drained: result.drainMs !== null, lost: report.lost, duplicated: report.duplicated, unexpected: report.unexpected, staleProfiles: report.staleProfiles };
  expect(verdict, report.examples.join("\n")).toEqual({ drained: true, lost: 0, duplicated: 0, unexpected: 0, staleProfiles: 0 });
  expect(report.present).toBe(report.sent);
  expect(report.sent).toBeGreaterThan(0);
}

const seconds = (ms: number | null) => (ms === null ? "not drained" : `${(ms / 1000).toFixed(1)} s`);

export function resultTable(rows: ScenarioResult[]): string {
  const lines = [
    "| scenario | fault injected | deliveries (retried) | events sent | present | lost | duplicated | unexpected | stale profiles | re-sent, de-duplicated by unique_id | time to drain |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((row) =>
      [
        row.name,
        row.injected,
        `${row.deliveries} (${row.retriedDeliveries})`,
        row.report.sent,
        row.report.present,
        row.report.lost,
        row.report.duplicated,
        row.report.unexpected,
        row.report.staleProfiles,
        row.report.resent,
        seconds(row.drainMs),
      ].join(" | "),
    ).map((line) => `| ${line} |`),
  ];
  return lines.join("\n");
}

/** The table on the console and in .data/test-results/faults-scenarios.md, next to the JSON report. */
export function publishResults(extraRows: string[] = []): void {
  const table = [resultTable(results), ...extraRows].join("\n\n");
  console.log(`\nFault scenarios\n\n${table}\n`);
  const directory = path.join(projectRoot, ".data", "test-results");
  mkdirSync(directory, { recursive: true });
  writeFileSync(path.join(directory, "faults-scenarios.md"), `# Fault scenarios\n\n${table}\n`);
}
