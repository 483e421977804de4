// The measured phases, each run the same way against the product and the naive baseline.
import { acceptedStageChanges, callMarks, countCalls, nextMove, type CallCount, type SentChange, type Target } from "./changes";
import { cpuSeconds, cpuTimes, hostBusyMeter, hostStealMeter } from "./harness/process-stats";
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

export type ClosedLoopCost = {
  requests: number;
  /** Answers other than the expected status. */
  unexpected: number;
  wallMs: number;
  /** The receiving process's CPU per request, in user and kernel mode (ms). */
  userMsPerRequest: number;
  kernelMsPerRequest: number;
};

/**
 * CPU a process spends per request when `requests` arrive back to back, `inFlight` at a time (no
 * idle gaps between them, so no wake-up of an idle process is counted): its cost per request once
 * warm, for comparing two kinds of request to the same server.
 */
export async function closedLoopCost(pid: number, requests: { url: string; body: string }[], expectedStatus: number, inFlight = 4): Promise<ClosedLoopCost> {
  const before = cpuTimes(pid);
  const started = Date.now();
  let next = 0;
  let unexpected = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < requests.length) {
        const { url, body } = requests[next++]!;
        const delivery = await postForm(url, body);
        if (delivery.status !== expectedStatus) unexpected++;
      }
    }),
  );
  const after = cpuTimes(pid);
  const per = (seconds: number) => (seconds * 1000) / Math.max(1, requests.length);
  return {
    requests: requests.length,
    unexpected,
    wallMs: Date.now() - started,
    userMsPerRequest: before && after ? per(after.user - before.user) : NaN,
    kernelMsPerRequest: before && after ? per(after.system - before.system) : NaN,
  };
}

/** Several measurements of the same kind of request as one (each of the same size). */
export function mergedCosts(costs: ClosedLoopCost[]): ClosedLoopCost {
  const mean = (pick: (cost: ClosedLoopCost) => number) => costs.reduce((total, cost) => total + pick(cost), 0) / Math.max(1, costs.length);
  return {
    requests: costs.reduce((total, cost) => total + cost.requests, 0),
    unexpected: costs.reduce((total, cost) => total + cost.unexpected, 0),
    wallMs: costs.reduce((total, cost) => total + cost.wallMs, 0),
    userMsPerRequest: mean((cost) => cost.userMsPerRequest),
    kernelMsPerRequest: mean((cost) => cost.kernelMsPerRequest),
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
  /** Share of it the hypervisor gave to other machines (steal); null off Linux. */
  hostStolen: number | null;
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
  const hostStolen = hostStealMeter();
  const run = await openLoop(rate, durationMs, (index) => {
    const target = targets[(offset + index) % targets.length]!;
    return postForm(target.tenant.hookUrl, nextMove(sims, target).body);
  });
  const cpuUse = cpu(run.results.length);
  const busy = hostBusy();
  const stolen = hostStolen();
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
    hostStolen: stolen,
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
  /** How long that CPU was measured over (ms). */
  cpuWindowMs: number;
  hostBusy: number;
  hostStolen: number | null;
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
  const hostStolen = hostStealMeter();
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
    cpuWindowMs: Date.now() - startedAt.getTime(),
    hostBusy: hostBusy(),
    hostStolen: hostStolen(),
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
