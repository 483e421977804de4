// The Digital Pipeline phase (the product only: the naive baseline has no such action). A deal enters
// a stage that carries the "Send to Klaviyo" action: Kommo posts its CRM webhook and the action's hook,
// as it does for a real stage move. Measured: how fast the hook is answered, and the time from the
// hook to Klaviyo's answer accepting the action's event.
import type { KlaviyoSimulator } from "../tests/simulators/klaviyo";
import { nextMove, type Target } from "./changes";
import { widgetHeaders, type HarnessContext, type Tenant } from "./harness/accounts";
import type { Simulators } from "./harness/simulators";
import { KOMMO_ANSWER_LIMIT_MS, postForm } from "./harness/webhooks";
import { distribution, openLoop, type Distribution } from "./load";

/** The admin's event name on the action, as the marketer would type it. */
export const DP_EVENT_NAME = "Demo Booked";

export type DigitalPipelineResult = {
  rate: number;
  sent: number;
  /** Hook answers (200 only). */
  ack: Distribution;
  /** From the hook leaving to Klaviyo accepting the action's event. */
  hookToEvent: Distribution;
  /** Hooks not answered 200. */
  failed: number;
  /** Hooks answered 200 whose event Klaviyo never accepted within the wait. */
  lost: number;
};

/** The hook URL and the account's action token, as the widget's `dpSettings` reads them. */
async function actionSettings(context: HarnessContext, tenant: Tenant): Promise<{ webhookUrl: string; token: string }> {
  const answer = await fetch(`${context.appUrl}/api/widget/digital-pipeline`, { headers: await widgetHeaders(context, tenant), signal: AbortSignal.timeout(30_000) });
  if (answer.status !== 200) throw new Error(`digital pipeline settings of ${tenant.subdomain} answered ${answer.status}: ${await answer.text()}`);
  return (await answer.json()) as { webhookUrl: string; token: string };
}

type EventAttributes = { metric?: { data?: { attributes?: { name?: string } } }; properties?: Record<string, unknown> };

/** When Klaviyo accepted the action's event of each deal (first 2xx), from request `fromIndex` on. */
function acceptedActions(klaviyo: KlaviyoSimulator, fromIndex: number): Map<number, number> {
  const accepted = new Map<number, number>();
  for (const request of klaviyo.requests.slice(fromIndex)) {
    if (request.operation !== "create_event" || request.status < 200 || request.status >= 300 || request.answeredAt === null) continue;
    const attributes = (request.body as { data?: { attributes?: EventAttributes } } | undefined)?.data?.attributes;
    if (attributes?.metric?.data?.attributes?.name !== DP_EVENT_NAME) continue;
    const leadId = Number(attributes.properties?.kommo_deal_id);
    if (!accepted.has(leadId)) accepted.set(leadId, request.answeredAt);
  }
  return accepted;
}

/**
 * `rate` stage moves per second for `durationMs`, each a different deal (from `offset` on), each with
 * its CRM webhook and the action's hook (JSON, as documented). Waits up to `waitMs` for the events.
 */
export async function digitalPipelinePhase(
  context: HarnessContext & { sims: Simulators },
  targets: Target[],
  rate: number,
  durationMs: number,
  offset: number,
  waitMs = 120_000,
): Promise<DigitalPipelineResult> {
  const { sims } = context;
  const total = Math.round((rate * durationMs) / 1000);
  const chosen = targets.slice(offset, offset + total);
  if (chosen.length < total) throw new Error(`${total} Digital Pipeline hooks need as many deals; there are ${chosen.length} from ${offset}`);
  const settings = new Map<number, { webhookUrl: string; token: string }>();
  for (const { tenant } of chosen) {
    if (!settings.has(tenant.kommoAccountId)) settings.set(tenant.kommoAccountId, await actionSettings(context, tenant as Tenant));
  }
  const mark = sims.klaviyo.requests.length;
  const sentAt = new Map<number, number>();
  const run = await openLoop(rate, durationMs, async (index) => {
    const target = chosen[index]!;
    const action = settings.get(target.tenant.kommoAccountId)!;
    const crm = nextMove(sims, target);
    const hook = sims.kommo.digitalPipelineHookBody(target.tenant.kommoAccountId, target.deal.leadId, {
      encoding: "json",
      settings: { event_name: DP_EVENT_NAME, kss_token: action.token },
    });
    sentAt.set(target.deal.leadId, Date.now());
    const [answer] = await Promise.all([
      postForm(action.webhookUrl, hook.body, { contentType: hook.contentType, timeoutMs: KOMMO_ANSWER_LIMIT_MS * 5 }),
      postForm(target.tenant.hookUrl, crm.body),
    ]);
    return answer;
  });
  const answered = run.results.filter(({ result }) => result.status === 200);
  const expected = answered.map(({ index }) => chosen[index]!.deal.leadId);
  const deadline = Date.now() + waitMs;
  let accepted = acceptedActions(sims.klaviyo, mark);
  while (expected.some((leadId) => !accepted.has(leadId)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    accepted = acceptedActions(sims.klaviyo, mark);
  }
  const latencies = expected.flatMap((leadId) => (accepted.has(leadId) ? [accepted.get(leadId)! - sentAt.get(leadId)!] : []));
  return {
    rate,
    sent: run.results.length,
    ack: distribution(answered.map(({ result }) => result.ms)),
    hookToEvent: distribution(latencies),
    failed: run.results.length - answered.length,
    lost: expected.length - latencies.length,
  };
}
