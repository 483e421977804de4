// Deal changes of the benchmark and what they cost: moving a deal to its next stage (and the
// webhook Kommo sends for it), finding the moment Klaviyo accepted the event for a change, and
// counting the API calls the simulators received per tenant, split into the calls a sync makes and
// the background work (reconciliation, email activity, token refreshes).
import type { KlaviyoSimulator } from "../tests/simulators/klaviyo";
import type { KommoSimulator } from "../tests/simulators/kommo";
import { moveDeal, stageLabel, type Deal, type SimTenant } from "./harness/accounts";

export type Target = { tenant: SimTenant; deal: Deal };

export type SentChange = { key: string; sentAt: number };

const changeKey = (leadId: unknown, previousStage: unknown, stage: unknown) => JSON.stringify([leadId, previousStage ?? null, stage ?? null]);

/** Move the deal on to the next open stage (round the cycle); the webhook body and the change sent. */
export function nextMove(sims: { kommo: KommoSimulator }, target: Target): { body: string; change: Omit<SentChange, "sentAt"> } {
  const { tenant, deal } = target;
  const current = sims.kommo.account(tenant.kommoAccountId).leads.get(deal.leadId)!.status_id;
  const position = tenant.stages.findIndex((stage) => stage.id === current);
  const next = tenant.stages[(position + 1) % tenant.stages.length]!;
  const move = moveDeal({ sims }, tenant, deal, next.id);
  return { body: move.body, change: { key: changeKey(deal.leadId, stageLabel(tenant, move.from), stageLabel(tenant, move.to)) } };
}

/** When Klaviyo accepted each "Stage Changed" event (first 2xx answer), from request `fromIndex` on. */
export function acceptedStageChanges(klaviyo: KlaviyoSimulator, fromIndex: number): Map<string, number> {
  const accepted = new Map<string, number>();
  for (const request of klaviyo.requests.slice(fromIndex)) {
    if (request.operation !== "create_event" || request.status < 200 || request.status >= 300 || request.answeredAt === null) continue;
    const attributes = (request.body as { data?: { attributes?: EventAttributes } } | undefined)?.data?.attributes;
    if (attributes?.metric?.data?.attributes?.name !== "Stage Changed") continue;
    const properties = attributes.properties ?? {};
    const key = changeKey(properties.kommo_deal_id, properties.previous_stage, properties.deal_stage);
    if (!accepted.has(key)) accepted.set(key, request.answeredAt);
  }
  return accepted;
}

type EventAttributes = { metric?: { data?: { attributes?: { name?: string } } }; properties?: Record<string, unknown> };

/** Kommo and Klaviyo routes a deal sync uses; every other call is background work. */
const KOMMO_SYNC_ROUTES = new Set([
  "GET /api/v4/leads/:id",
  "GET /api/v4/contacts/:id",
  "GET /api/v4/companies/:id",
  "GET /api/v4/leads/pipelines",
  "GET /api/v4/users",
]);
const KLAVIYO_SYNC_OPERATIONS = new Set(["create_or_update_profile", "add_profiles_to_list", "remove_profiles_from_list", "create_event"]);

export type CallCount = {
  kommo: number;
  klaviyo: number;
  background: number;
  /** Answers 429 among them (Kommo / Klaviyo). */
  throttled: { kommo: number; klaviyo: number };
  byRoute: Record<string, number>;
};

export type CallMarks = { kommo: number; klaviyo: number };

export const callMarks = (sims: { kommo: KommoSimulator; klaviyo: KlaviyoSimulator }): CallMarks => ({
  kommo: sims.kommo.requests.length,
  klaviyo: sims.klaviyo.requests.length,
});

/** Calls of these tenants since `marks`. */
export function countCalls(sims: { kommo: KommoSimulator; klaviyo: KlaviyoSimulator }, tenants: SimTenant[], marks: CallMarks): CallCount {
  const accounts = new Set(tenants.map((tenant) => tenant.kommoAccountId));
  const hints = new Set(tenants.map((tenant) => tenant.klaviyo.keyHint));
  const count: CallCount = { kommo: 0, klaviyo: 0, background: 0, throttled: { kommo: 0, klaviyo: 0 }, byRoute: {} };
  for (const request of sims.kommo.requests.slice(marks.kommo)) {
    if (request.accountId === null || !accounts.has(request.accountId)) continue;
    if (request.status === 429) count.throttled.kommo++;
    if (!KOMMO_SYNC_ROUTES.has(request.route)) {
      count.background++;
      continue;
    }
    count.kommo++;
    count.byRoute[`Kommo ${request.route}`] = (count.byRoute[`Kommo ${request.route}`] ?? 0) + 1;
  }
  for (const request of sims.klaviyo.requests.slice(marks.klaviyo)) {
    if (!hints.has(request.keyHint ?? "")) continue;
    if (request.status === 429) count.throttled.klaviyo++;
    if (!KLAVIYO_SYNC_OPERATIONS.has(request.operation ?? "")) {
      count.background++;
      continue;
    }
    count.klaviyo++;
    count.byRoute[`Klaviyo ${request.operation}`] = (count.byRoute[`Klaviyo ${request.operation}`] ?? 0) + 1;
  }
  return count;
}
