// Kommo's events feed (`GET /api/v4/events`): what happened in the account, whether or not a
// webhook told us. Read through the same authenticated, rate-limited request path as every other
// Kommo call; each answer checked with zod.
import qs from "qs";
import { z } from "zod";
import { db } from "@/lib/db/client";
import { collectionSchema } from "@/lib/integrations/kommo/api-schemas";
import { accountTokenSource } from "@/lib/integrations/kommo/account-client";
import { KommoResponseError } from "@/lib/integrations/kommo/errors";
import { kommoIdSchema } from "@/lib/integrations/kommo/ids";
import { kommoBaseUrl } from "@/lib/integrations/kommo/hosts";
import { accountRateKey } from "@/lib/integrations/kommo/rate";
import { kommoRequest, type RequestTarget } from "@/lib/integrations/kommo/request";
import { usableTokens } from "@/lib/integrations/kommo/tokens";

/** Kommo returns at most 100 events per page. */
export const EVENTS_PAGE_LIMIT = 100;

export const KOMMO_EVENT_TYPES = ["lead_added", "lead_status_changed", "lead_deleted", "contact_deleted"] as const;
export type KommoEventType = (typeof KOMMO_EVENT_TYPES)[number];

const leadStatus = z.looseObject({ lead_status: z.looseObject({ id: kommoIdSchema, pipeline_id: kommoIdSchema }) });
/** `value_after` / `value_before`: a list of typed values; for leads, the stage as `lead_status`. */
const values = z
  .array(z.unknown())
  .nullish()
  .transform((items) => {
    for (const item of items ?? []) {
      const parsed = leadStatus.safeParse(item);
      if (parsed.success) return { statusId: parsed.data.lead_status.id, pipelineId: parsed.data.lead_status.pipeline_id };
    }
    return null;
  });

export const kommoEventSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  type: z.string(),
  entity_id: kommoIdSchema,
  entity_type: z.string(),
  created_at: z.number().int(),
  value_after: values,
  value_before: values,
});
export type KommoEvent = z.infer<typeof kommoEventSchema>;

const eventsPage = collectionSchema("events", kommoEventSchema);

export type EventsWindow = { types: readonly KommoEventType[]; from: Date; to: Date };

/** A request target for the account: its host, its shared 7/s budget, its self-renewing token. */
export async function kommoTarget(accountId: string): Promise<RequestTarget & { calls: () => number }> {
  const row = await db().account.findUnique({
    where: { id: accountId },
    select: { id: true, kommoAccountId: true, host: true, status: true, statusReason: true, accessTokenEnc: true, refreshTokenEnc: true, accessTokenExpiresAt: true },
  });
  const account = usableTokens(row, accountId);
  let calls = 0;
  return { baseUrl: kommoBaseUrl(account.host), rateKey: accountRateKey(account.kommoAccountId), tokens: accountTokenSource(accountId), onRequest: () => calls++, calls: () => calls };
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** Every event of these types created in [from, to], page by page (Kommo's order: newest first). */
export async function readKommoEvents(target: RequestTarget, window: EventsWindow): Promise<KommoEvent[]> {
  const events: KommoEvent[] = [];
  let path: string | null = `/api/v4/events?${qs.stringify(
    { filter: { type: window.types.join(","), created_at: { from: seconds(window.from), to: seconds(window.to) } }, limit: EVENTS_PAGE_LIMIT, page: 1 },
    { encodeValuesOnly: true },
  )}`;
  while (path) {
    const body: z.infer<typeof eventsPage> | null = await kommoRequest(target, { method: "GET", path, schema: eventsPage });
    if (!body) break;
    events.push(...(body._embedded.events as KommoEvent[]));
    const next: string | undefined = body._links?.next?.href;
    path = next ? pathOf(target, next) : null;
  }
  return events;
}

/** Kommo's `_links.next`, reduced to a path on our base URL so that the token goes nowhere else. */
function pathOf(target: RequestTarget, href: string): string {
  const url = new URL(href, target.baseUrl);
  if (url.pathname !== "/api/v4/events") throw new KommoResponseError(`Kommo's next page of events points elsewhere: ${url.pathname}`);
  return `${url.pathname}${url.search}`;
}
