// The sales team of a fault scenario: deals created and moved through their pipelines in Kommo,
// each change delivered as Kommo delivers it (retried until the app answers 2xx), every deal's
// changes in order and all deals at once. Every change is written into the ledger of the events
// Klaviyo must end up with.
import { createdWebhook, moveDeal, seedDeal, type Deal, type Tenant } from "../../bench/harness/accounts";
import { Ledger } from "../../bench/harness/ledger";
import { deliverLikeKommo } from "../../bench/harness/webhooks";
import type { FaultEnvironment } from "./environment";

const WON = 142;
const LOST = 143;

/** Where deal number i goes after "Incoming leads" (stage names; "Won"/"Lost" close it). */
const PATHS = [
  ["Qualified", "Negotiation", "Won"],
  ["Negotiation", "Lost"],
  ["Qualified", "Proposal", "Contract", "Won"],
  ["Contract", "Negotiation", "Proposal"],
] as const;

export type WorkloadOptions = {
  tenants: Tenant[];
  dealsPerTenant: number;
  /** Pause between two changes of one deal (a little jitter is added). */
  gapMs: number;
  /** How long one delivery is retried before the change counts as never delivered. */
  retryForMs?: number;
  /** Called after each delivery; a scenario injects its fault from here. */
  onDelivered?: (delivered: number, total: number) => void | Promise<void>;
};

export type Workload = { ledger: Ledger; deals: Deal[]; deliveries: number; retriedDeliveries: number; finishedAt: number };

function statusOf(tenant: Tenant, name: string): number {
  if (name === "Won") return WON;
  if (name === "Lost") return LOST;
  const stage = tenant.stages.find((candidate) => candidate.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  return stage.id;
}

export async function runWorkload(env: FaultEnvironment, options: WorkloadOptions): Promise<Workload> {
  const ledger = new Ledger();
  const lanes = options.tenants.flatMap((tenant) =>
    Array.from({ length: options.dealsPerTenant }, (_, index) => ({ tenant, deal: seedDeal(env.context, tenant, index), path: PATHS[index % PATHS.length]! })),
  );
  const total = lanes.reduce((sum, lane) => sum + 1 + lane.path.length, 0);
  let delivered = 0;
  let retriedDeliveries = 0;

  const deliver = async (tenant: Tenant, body: string) => {
    const result = await deliverLikeKommo(tenant.hookUrl, body, options.retryForMs ?? 60_000);
    if (result.status < 200 || result.status >= 300) {
      throw new Error(`a delivery to ${tenant.subdomain} never succeeded: ${result.status} ${result.error ?? ""} after ${result.attempts} attempts`);
    }
    if (result.attempts > 1) retriedDeliveries++;
    delivered++;
    await options.onDelivered?.(delivered, total);
  };
  const pause = () => new Promise((resolve) => setTimeout(resolve, options.gapMs * (0.5 + Math.random())));

  await Promise.all(
    lanes.map(async ({ tenant, deal, path }) => {
      ledger.created(tenant, deal);
      await deliver(tenant, createdWebhook(env.context, tenant, deal));
      for (const stageName of path) {
        await pause();
        const move = moveDeal(env.context, tenant, deal, statusOf(tenant, stageName));
        ledger.moved(tenant, deal, move.from, move.to);
        await deliver(tenant, move.body);
      }
    }),
  );
  return { ledger, deals: lanes.map((lane) => lane.deal), deliveries: delivered, retriedDeliveries, finishedAt: Date.now() };
}
