// Prometheus metrics for the operator (GET /api/metrics). Every value is read from the database at
// scrape time: the sync log (one row per sync attempt, written by whichever worker ran it) and
// pg-boss's job table. So the numbers hold across any number of web and worker processes and
// survive restarts, which per-process counters would not.
//
// Because the sync log is pruned (SYNC_LOG_RETENTION_DAYS), its figures are gauges over sliding
// windows (label `window`: 5m, 1h, 24h) rather than ever-growing counters: alert on them directly,
// e.g. `kss_sync_runs{status="failed",window="1h"} > 0`.
import type { SyncErrorCode } from "@/lib/outcomes";
import { Gauge, Registry } from "prom-client";
import { db } from "@/lib/db/client";
import { countOpenFailureDeals, syncDurationQuantiles, syncRunsByWindow } from "@/lib/db/sync-log";
import { existingQueueNames, queueCounts } from "@/lib/jobs/queue-state";

export const METRIC_WINDOWS = { "5m": 5 * 60, "1h": 60 * 60, "24h": 24 * 60 * 60 } as const;
type WindowName = keyof typeof METRIC_WINDOWS;
const WINDOWS = Object.keys(METRIC_WINDOWS) as WindowName[];

/** Error codes of attempts that ended on an API's 429 after the in-place retries (lib/features/sync/sync-lead.ts). */
const RATE_LIMIT_CODES = { kommo: "kommo_rate_limited", klaviyo: "klaviyo_rate_limited" } as const satisfies Record<string, SyncErrorCode>;

/** What each metric means; also the HELP line Prometheus shows. */
export const METRIC_HELP = {
  kss_sync_runs:
    "Deal sync attempts finished in the window, by outcome: ok (changes applied), skipped (nothing to send, e.g. no e-mail), retrying (failed, will be retried), failed (retries used up or an error a person must fix).",
  kss_api_calls: "HTTP requests the sync jobs finished in the window sent to each API (kommo, klaviyo), retries included.",
  kss_api_calls_per_sync: "Average HTTP requests per sync attempt finished in the window, by API.",
  kss_sync_duration_seconds: "Wall time of the deal sync attempts finished in the window (dominated by the Kommo and Klaviyo calls), as quantiles.",
  kss_rate_limited_syncs: "Sync attempts in the window that ended on the API's 429 after the client's own waits and in-place retries, by API.",
  kss_queue_jobs: "Jobs in the durable queue by queue and state; created + retry is the backlog, active is running, failed is spent.",
  kss_queue_oldest_waiting_seconds: "Age of the oldest job that is due and waiting for a worker, by queue (0 when none waits).",
  kss_open_failures: "Deals whose last sync failed and that nobody has replayed or dismissed yet (the dashboard's failure list).",
  kss_accounts: "Installed Kommo accounts by status (installed, needs_reauth, disconnected) and whether syncing is paused.",
} as const;

async function readAccounts() {
  const groups = await db().account.groupBy({ by: ["status", "paused"], _count: { _all: true } });
  return groups.map((group) => ({ status: group.status as string, paused: group.paused, accounts: group._count._all }));
}

/** The metrics in Prometheus text format, with the registry's content type. */
export async function renderMetrics(): Promise<{ body: string; contentType: string }> {
  const [runs, quantiles, queues, queueNames, openFailures, accounts] = await Promise.all([
    syncRunsByWindow(METRIC_WINDOWS, RATE_LIMIT_CODES),
    syncDurationQuantiles(METRIC_WINDOWS),
    queueCounts(),
    // Every queue that exists gets its gauges, with 0 where nothing is in it.
    existingQueueNames(),
    countOpenFailureDeals(),
    readAccounts(),
  ]);
  const registry = new Registry();
  const gauge = <Label extends string>(name: keyof typeof METRIC_HELP, labelNames: Label[]) =>
    new Gauge({ name, help: METRIC_HELP[name], labelNames, registers: [registry] });

  const syncRuns = gauge("kss_sync_runs", ["status", "window"]);
  const apiCalls = gauge("kss_api_calls", ["api", "window"]);
  const callsPerSync = gauge("kss_api_calls_per_sync", ["api", "window"]);
  const rateLimited = gauge("kss_rate_limited_syncs", ["api", "window"]);
  for (const window of WINDOWS) {
    const rows = runs.filter((row) => row.window === window);
    const total = rows.reduce((sum, row) => sum + row.runs, 0);
    for (const status of ["ok", "skipped", "retrying", "failed"]) {
      syncRuns.set({ status, window }, rows.find((row) => row.status === status)?.runs ?? 0);
    }
    for (const api of ["kommo", "klaviyo"] as const) {
      const calls = rows.reduce((sum, row) => sum + row[api], 0);
      apiCalls.set({ api, window }, calls);
      callsPerSync.set({ api, window }, total > 0 ? calls / total : 0);
      const limited = rows.reduce((sum, row) => sum + (api === "kommo" ? row.limitedKommo : row.limitedKlaviyo), 0);
      rateLimited.set({ api, window }, limited);
    }
  }

  const duration = gauge("kss_sync_duration_seconds", ["quantile", "window"]);
  for (const row of quantiles) {
    for (const [quantile, value] of [["0.5", row.p50], ["0.95", row.p95], ["0.99", row.p99]] as const) {
      if (value !== null) duration.set({ quantile, window: row.window }, Number(value));
    }
  }

  const queueJobs = gauge("kss_queue_jobs", ["queue", "state"]);
  const oldestWaiting = gauge("kss_queue_oldest_waiting_seconds", ["queue"]);
  for (const name of queueNames.sort()) {
    for (const state of ["created", "retry", "active", "failed"]) {
      queueJobs.set({ queue: name, state }, queues.states.find((row) => row.name === name && row.state === state)?.jobs ?? 0);
    }
    oldestWaiting.set({ queue: name }, Math.max(0, queues.oldest.find((row) => row.name === name)?.seconds ?? 0));
  }

  gauge("kss_open_failures", []).set(openFailures);
  const accountGauge = gauge("kss_accounts", ["status", "paused"]);
  for (const status of ["installed", "needs_reauth", "disconnected"]) {
    for (const paused of [false, true]) {
      accountGauge.set({ status, paused: String(paused) }, accounts.find((row) => row.status === status && row.paused === paused)?.accounts ?? 0);
    }
  }

  return { body: await registry.metrics(), contentType: registry.contentType };
}
