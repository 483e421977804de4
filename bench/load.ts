// Open-loop load: requests go out on a fixed schedule whether or not earlier ones were answered,
// as Kommo sends webhooks whatever state our server is in. A closed loop (send, wait, send) would
// slow down with the server and hide its queueing. Bounded: rate x duration requests, no more.
import { monitorEventLoopDelay } from "node:perf_hooks";

export type Timed<Result> = { index: number; result: Result };

/**
 * Fire `fire(i)` for i = 0 .. rate*duration-1, each at its scheduled moment; resolves when every one
 * has settled. Also reports how late this process's own event loop ran (p99, ms), which is how much
 * of the measured latency may be the load generator's rather than the server's.
 */
export async function openLoop<Result>(
  ratePerSecond: number,
  durationMs: number,
  fire: (index: number) => Promise<Result>,
): Promise<{ results: Timed<Result>[]; loopDelayP99Ms: number; sendLagMs: number }> {
  const total = Math.round((ratePerSecond * durationMs) / 1000);
  const pending: Promise<Timed<Result>>[] = [];
  const monitor = monitorEventLoopDelay({ resolution: 10 });
  monitor.enable();
  const started = performance.now();
  let sendLagMs = 0;
  let index = 0;
  while (index < total) {
    const elapsed = performance.now() - started;
    const due = Math.min(total, Math.floor((elapsed * ratePerSecond) / 1000) + 1);
    while (index < due) {
      // How far behind its schedule the request leaves (a busy generator sends late).
      sendLagMs = Math.max(sendLagMs, elapsed - (index * 1000) / ratePerSecond);
      const current = index++;
      pending.push(fire(current).then((result) => ({ index: current, result })));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const results = await Promise.all(pending);
  monitor.disable();
  return { results, loopDelayP99Ms: monitor.percentile(99) / 1e6, sendLagMs };
}

/** Nearest-rank percentile of `values` (0 < p <= 100); null for no values. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export type Distribution = { count: number; p50: number | null; p95: number | null; p99: number | null; max: number | null };

export function distribution(values: number[]): Distribution {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.length ? values.reduce((a, b) => Math.max(a, b), -Infinity) : null,
  };
}
