// The import of existing deals, as an admin starts it from the widget settings: the tenant gets
// `deals` deals (each with a contact, every other one with a company), POST /api/widget/backfill
// starts the import, and GET is polled until it has finished.
import { callMarks, countCalls, type CallCount } from "./changes";
import { seedDeal, widgetHeaders, type HarnessContext, type Tenant } from "./harness/accounts";

export type BackfillResult =
  | { available: false; reason: string; deals: number }
  | {
      available: true;
      deals: number;
      seconds: number | null;
      status: string;
      done: number;
      total: number | null;
      errors: number;
      calls: CallCount;
      /** Every Kommo request of the account during the run (the import's pages count as background calls in `calls`). */
      kommoRequests: number;
    };

type RunView = { status: string; done: number; total: number | null; errors: number; lastError: string | null };

export async function backfillPhase(context: HarnessContext, tenant: Tenant, deals: number, timeoutMs: number): Promise<BackfillResult> {
  for (let index = 0; index < deals; index++) seedDeal(context, tenant, index);
  const url = `${context.appUrl}/api/widget/backfill`;
  const marks = callMarks(context.sims);
  const started = Date.now();
  const response = await fetch(url, { method: "POST", headers: await widgetHeaders(context, tenant), body: "{}", signal: AbortSignal.timeout(30_000) });
  if (response.status === 404 || response.status === 405) {
    return { available: false, deals, reason: `POST /api/widget/backfill answered ${response.status}: the import of existing deals is not in this build` };
  }
  if (response.status !== 202) return { available: false, deals, reason: `POST /api/widget/backfill answered ${response.status}: ${await response.text()}` };

  let view: RunView = { status: "queued", done: 0, total: null, errors: 0, lastError: null };
  while (Date.now() - started < timeoutMs) {
    const polled = await fetch(url, { headers: await widgetHeaders(context, tenant), signal: AbortSignal.timeout(30_000) });
    if (polled.status === 200) view = (await polled.json()) as RunView;
    if (view.status === "completed" || view.status === "failed") break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const finished = view.status === "completed" || view.status === "failed";
  return {
    available: true,
    deals,
    seconds: finished ? (Date.now() - started) / 1000 : null,
    status: finished ? view.status : `${view.status} after ${timeoutMs / 1000} s`,
    done: view.done,
    total: view.total,
    errors: view.errors,
    calls: countCalls(context.sims, [tenant], marks),
    kommoRequests: context.sims.kommo.requests.slice(marks.kommo).filter((request) => request.accountId === tenant.kommoAccountId).length,
  };
}
