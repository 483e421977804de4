// The measured phases, each run the same way against the product and the naive baseline.
import { acceptedStageChanges, callMarks, countCalls, nextMove, type CallCount, type SentChange, type Target } from "./changes";
import { cpuSeconds, hostBusyMeter } from "./harness/process-stats";
import type { Simulators } from "./harness/simulators";
import type { AppProcess } from "./harness/app";
import { deliverLikeKommo, KOMMO_ANSWER_LIMIT_MS, postForm } from "./harness/webhooks";
import { distribution, openLoop, type Distribution } from "./load";
import type { System } from "./systems";

/** How long a phase may take to be fully applied before it counts as not drained. */
const DRAIN_TIMEOUT_MS = 240_000;

export type CpuUse = { receiverMs: number | null; othersMs: number | null };

/**
 * CPU time the system's processes use from now on: the receiving process (web server, or the
 * baseline) and the others (the workers), in ms, divided by `per`.
 */
function cpuMeter(processes: AppProcess[]): (per: number) => CpuUse {
  const read = () => processes.map((process) => cpuSeconds(process.pid));
  const before = read();
  return (per) => {
    const after = read();
    const used = after.map((value, index) => (value === null || before[index] === null ? null : (value - before[index]!) * 1000));
    const sum = (values: (number | null)[]) => (values.some((value) => value === null) ? null : values.reduce<number>((total, value) => total + value!, 0) / per);
    return { receiverMs: sum(used.slice(0, 1)), othersMs: sum(used.slice(1)) };
  };
}

export type AckResult = {
  rate: number;
  sent: number;
  latency: Distribution;
  /** Answers other than 200 (including no answer). */
  failed: number;
  /** Answered 200, but after Kommo's 2 s limit. */
  overKommoLimit: number;
  loopDelayP99Ms: number;
  /** CPU the receiving process (web server, or the baseline) used per webhook (ms). */
  cpuMsPerWebhook: number | null;
  /** Share of the host's CPU time that was busy while the webhooks were sent (every process on it). */
  hostBusy: number;
  /** Time after the last webhook until everything was applied; null: not within the timeout. */
  drainMs: number | null;
};

/**
 * Webhook acknowledgement: `rate` webhooks per second for `durationMs`, each a deal moved to its
 * next stage, timed until our answer. `drain: false` when nothing will apply them (no workers).
 */
export async function ackPhase(system: System, sims: Simulators, rate: number, durationMs: number, offset: number, options: { drain?: boolean } = {}): Promise<AckResult> {
  const { targets } = system;
  const cpu = cpuMeter(system.processes().slice(0, 1));
  const hostBusy = hostBusyMeter();
  const run = await openLoop(rate, durationMs, (index) => {
    const target = targets[(offset + index) % targets.length]!;
    return postForm(target.tenant.hookUrl, nextMove(sims, target).body);
  });
  const cpuUse = cpu(run.results.length);
  const busy = hostBusy();
  const ok = run.results.filter(({ result }) => result.status === 200);
  return {
    rate,
    sent: run.results.length,
    latency: distribution(ok.map(({ result }) => result.ms)),
    failed: run.results.length - ok.length,
    overKommoLimit: ok.filter(({ result }) => result.ms > KOMMO_ANSWER_LIMIT_MS).length,
    loopDelayP99Ms: run.loopDelayP99Ms,
    cpuMsPerWebhook: cpuUse.receiverMs,
    hostBusy: busy,
    drainMs: options.drain === false ? null : await system.drained(DRAIN_TIMEOUT_MS),
  };
}

export type ChangeResult = {
  rate: number;
  sent: number;
  /** From sending the webhook to Klaviyo's answer accepting the change's event (ms). */
  latency: Distribution;
  /** Changes whose event Klaviyo never accepted. */
  lost: number;
  /** Deliveries Kommo would have had to retry (no 200 at the first attempt). */
  retriedDeliveries: number;
  calls: CallCount;
  /** CPU per change, from the first webhook until everything was applied. */
  cpu: CpuUse;
  hostBusy: number;
  drainMs: number | null;
  startedAt: Date;
};

/**
 * Changes (each deal moved once) at `rate` per second, each delivered as Kommo does (retried until
 * answered 200), timed from the first attempt until Klaviyo accepted its event.
 */
export async function changePhase(system: System, sims: Simulators, rate: number, durationMs: number): Promise<ChangeResult> {
  const { targets } = system;
  const total = Math.round((rate * durationMs) / 1000);
  if (total > targets.length) throw new Error(`${total} changes need as many deals; there are ${targets.length}`);
  const marks = callMarks(sims);
  const cpu = cpuMeter(system.processes());
  const hostBusy = hostBusyMeter();
  const startedAt = new Date();
  const sent: SentChange[] = [];
  const run = await openLoop(rate, durationMs, (index) => {
    const target: Target = targets[index]!;
    const { body, change } = nextMove(sims, target);
    sent.push({ ...change, sentAt: Date.now() });
    return deliverLikeKommo(target.tenant.hookUrl, body, 120_000);
  });
  const drainMs = await system.drained(DRAIN_TIMEOUT_MS);
  const accepted = acceptedStageChanges(sims.klaviyo, marks.klaviyo);
  const latencies = sent.flatMap((change) => (accepted.has(change.key) ? [accepted.get(change.key)! - change.sentAt] : []));
  return {
    rate,
    sent: sent.length,
    latency: distribution(latencies),
    lost: sent.length - latencies.length,
    retriedDeliveries: run.results.filter(({ result }) => result.attempts > 1 || result.status !== 200).length,
    calls: countCalls(sims, system.tenants, marks),
    cpu: cpu(sent.length),
    hostBusy: hostBusy(),
    drainMs,
    startedAt,
  };
}

export type BurstResult = { leads: number; burst: number; changes: number; lost: number; calls: CallCount; drainMs: number | null };

/**
 * Bursts: `burst` changes of one deal a few milliseconds apart (a user clicking through stages, an
 * automation), for `leads` deals of different tenants at once, each delivered (until answered 200)
 * as it happens. Calls counted for those tenants only; a change counts as lost when no event with
 * its stages came.
 */
export async function burstPhase(system: System, sims: Simulators, leads: number, burst: number, offset: number): Promise<BurstResult> {
  const chosen = system.targets.slice(offset, offset + leads);
  const tenants = [...new Set(chosen.map((target) => target.tenant))];
  const marks = callMarks(sims);
  const sent: string[] = [];
  const deliveries: Promise<unknown>[] = [];
  await Promise.all(
    chosen.map(async (target) => {
      // The deal moves on every 20 ms whatever happens to the webhooks already sent.
      for (let step = 0; step < burst; step++) {
        const { body, change } = nextMove(sims, target);
        sent.push(change.key);
        deliveries.push(deliverLikeKommo(target.tenant.hookUrl, body, 120_000));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }),
  );
  await Promise.all(deliveries);
  const drainMs = await system.drained(DRAIN_TIMEOUT_MS);
  const accepted = acceptedStageChanges(sims.klaviyo, marks.klaviyo);
  return {
    leads,
    burst,
    changes: sent.length,
    lost: sent.filter((key) => !accepted.has(key)).length,
    calls: countCalls(sims, tenants, marks),
    drainMs,
  };
}
