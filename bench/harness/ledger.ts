// The fault suite's bookkeeping: every Klaviyo event that the Kommo changes of a run must produce,
// and a comparison with what the Klaviyo simulator holds at the end. An event is identified by what
// a marketer sees (metric, deal, the stage it left and the stage it entered), not by its unique_id,
// so a retry that changed the unique_id shows up as a duplicate.
import type { KlaviyoSimulator, SimEvent } from "../../tests/simulators/klaviyo";
import { stageLabel, type Deal, type Tenant } from "./accounts";

export const METRICS = ["Deal Created", "Stage Changed", "Deal Won", "Deal Lost"] as const;

type Metric = (typeof METRICS)[number];

const keyOf = (metric: string, leadId: unknown, previousStage: unknown, stage: unknown) =>
  JSON.stringify([metric, leadId, previousStage ?? null, stage ?? null]);

export type LedgerReport = {
  /** Events the changes must produce. */
  sent: number;
  /** Of those, how many Klaviyo holds. */
  present: number;
  lost: number;
  /** Extra copies of an expected event. */
  duplicated: number;
  /** Events Klaviyo holds that no change explains. */
  unexpected: number;
  /** Profiles whose crm_stage is not the deal's final stage. */
  staleProfiles: number;
  /** Event requests Klaviyo answered 2xx more than once for one unique_id (retries it de-duplicated). */
  resent: number;
  examples: string[];
};

export class Ledger {
  private readonly expected = new Set<string>();
  private readonly finalStage = new Map<number, { tenant: Tenant; deal: Deal; stage: string }>();

  created(tenant: Tenant, deal: Deal): void {
    const stage = tenant.incoming.name;
    this.expected.add(keyOf("Deal Created", deal.leadId, null, stage));
    this.finalStage.set(deal.leadId, { tenant, deal, stage });
  }

  moved(tenant: Tenant, deal: Deal, fromStatusId: number, toStatusId: number): void {
    const from = stageLabel(tenant, fromStatusId);
    const to = stageLabel(tenant, toStatusId);
    this.expected.add(keyOf("Stage Changed", deal.leadId, from, to));
    if (toStatusId === 142) this.expected.add(keyOf("Deal Won", deal.leadId, null, to));
    if (toStatusId === 143) this.expected.add(keyOf("Deal Lost", deal.leadId, null, to));
    this.finalStage.set(deal.leadId, { tenant, deal, stage: to });
  }

  get size(): number {
    return this.expected.size;
  }

  compare(klaviyo: KlaviyoSimulator, tenants: Tenant[]): LedgerReport {
    const counts = new Map<string, number>();
    const examples: string[] = [];
    let unexpected = 0;
    for (const tenant of tenants) {
      for (const metric of METRICS) {
        for (const event of tenant.klaviyo.store.eventsNamed(metric)) {
          const key = eventKeyOf(metric, event);
          if (!this.expected.has(key)) {
            unexpected++;
            if (examples.length < 5) examples.push(`unexpected ${key}`);
          }
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      }
    }
    let present = 0;
    let duplicated = 0;
    for (const key of this.expected) {
      const count = counts.get(key) ?? 0;
      if (count > 0) present++;
      else if (examples.length < 5) examples.push(`lost ${key}`);
      if (count > 1) {
        duplicated += count - 1;
        if (examples.length < 5) examples.push(`${count}x ${key}`);
      }
    }
    let staleProfiles = 0;
    for (const { tenant, deal, stage } of this.finalStage.values()) {
      const crmStage = tenant.klaviyo.store.profileByEmail(deal.email)?.properties.crm_stage;
      if (crmStage !== stage) {
        staleProfiles++;
        if (examples.length < 5) examples.push(`profile of lead ${deal.leadId}: crm_stage ${String(crmStage)}, expected ${stage}`);
      }
    }
    return { sent: this.expected.size, present, lost: this.expected.size - present, duplicated, unexpected, staleProfiles, resent: resentEvents(klaviyo, tenants), examples };
  }
}

function eventKeyOf(metric: Metric, event: SimEvent): string {
  const properties = event.properties;
  return keyOf(metric, properties.kommo_deal_id, metric === "Stage Changed" ? properties.previous_stage : null, properties.deal_stage);
}

function resentEvents(klaviyo: KlaviyoSimulator, tenants: Tenant[]): number {
  const hints = new Set(tenants.map((tenant) => tenant.klaviyo.keyHint));
  const seen = new Set<string>();
  let resent = 0;
  for (const request of klaviyo.requestsFor("create_event")) {
    if (request.status < 200 || request.status >= 300 || !hints.has(request.keyHint ?? "")) continue;
    const uniqueId = (request.body as { data?: { attributes?: { unique_id?: string } } } | undefined)?.data?.attributes?.unique_id;
    if (!uniqueId) continue;
    if (seen.has(uniqueId)) resent++;
    seen.add(uniqueId);
  }
  return resent;
}
