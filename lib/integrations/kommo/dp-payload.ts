// Kommo Digital Pipeline widget hooks: what Kommo posts to the manifest's `dp.webhook_url` when a
// lead reaches a stage that carries the widget's action. Documented as JSON; real deliveries have
// also been seen form-encoded with PHP bracket keys (`event[data][id]=…`), so both are read into
// the same shape. Values may be strings (form) or numbers (JSON).
import qs from "qs";
import { z } from "zod";
import { kommoIdSchema, kommoIdTextSchema } from "./ids";

/** Kommo's event types; 1, 14 and 15 are a lead entering the action's stage. */
export const DP_EVENT_TYPES = {
  lead_added: 1,
  lead_status_changed: 14,
  lead_appeared_in_status: 15,
} as const;

const ACTING_TYPES: ReadonlySet<number> = new Set(Object.values(DP_EVENT_TYPES));

const integer = (max: number) =>
  z.union([z.number(), z.string().regex(/^\d{1,12}$/, "must be a whole number").transform(Number)]).pipe(z.number().int().min(0).max(max));
/** JSON numbers, or digits in a form-encoded hook: the one Kommo id schema either way. */
const id = z.union([kommoIdSchema, kommoIdTextSchema]);
/** Epoch seconds between 2000 and 2100: anything else is not a Kommo change time. */
const unixTime = integer(4_102_444_800).pipe(z.number().min(946_684_800, "is not a plausible unix time"));
const text = (max: number) => z.string().trim().max(max);

const widgetSettings = z.looseObject({
  event_name: text(128).optional(),
  list_id: text(64).optional(),
  kss_token: text(256).optional(),
});

const bodySchema = z.looseObject({
  event: z.looseObject({
    type: integer(1000),
    type_code: text(64).optional(),
    time: unixTime,
    data: z.looseObject({
      id,
      element_type: integer(1000).optional(),
      status_id: id.optional(),
      pipeline_id: id.optional(),
    }),
  }),
  action: z
    .looseObject({ settings: z.looseObject({ widget: z.looseObject({ settings: widgetSettings.optional() }).optional() }).optional() })
    .optional(),
  subdomain: text(128).optional(),
  account_id: id,
});

export type DigitalPipelineHook = {
  kommoAccountId: number;
  subdomain: string | null;
  type: number;
  typeCode: string | null;
  /** Types 1, 14 and 15 act; every other type is acknowledged and ignored. */
  acts: boolean;
  leadId: number;
  elementType: number | null;
  statusId: number | null;
  pipelineId: number | null;
  /** `event.time`, epoch seconds. */
  time: number;
  settings: { eventName: string | null; listId: string | null; token: string | null };
};

export type HookParseResult = { ok: true; hook: DigitalPipelineHook } | { ok: false; message: string };

export type HookEncoding = "json" | "form";

/** Which encoding a Content-Type names; null for any other. */
export function hookEncodingOf(contentType: string | null): HookEncoding | null {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") return "json";
  if (type === "application/x-www-form-urlencoded") return "form";
  return null;
}

const blankToNull = (value: string | undefined) => (value ? value : null);

export function parseDigitalPipelineBody(body: string, encoding: HookEncoding): HookParseResult {
  let raw: unknown;
  if (encoding === "json") {
    try {
      raw = JSON.parse(body);
    } catch {
      return { ok: false, message: "body: not valid JSON" };
    }
  } else {
    // The same limits as the CRM webhooks: a hostile body costs no more than a real one.
    raw = qs.parse(body, { depth: 6, arrayLimit: 20, parameterLimit: 200, allowPrototypes: false, allowDots: false });
  }
  const parsed = bodySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: `${issue?.path.join(".") || "body"}: ${issue?.message}` };
  }
  const { event } = parsed.data;
  const settings = parsed.data.action?.settings?.widget?.settings;
  return {
    ok: true,
    hook: {
      kommoAccountId: parsed.data.account_id,
      subdomain: blankToNull(parsed.data.subdomain),
      type: event.type,
      typeCode: blankToNull(event.type_code),
      acts: ACTING_TYPES.has(event.type),
      leadId: event.data.id,
      elementType: event.data.element_type ?? null,
      statusId: event.data.status_id ?? null,
      pipelineId: event.data.pipeline_id ?? null,
      time: event.time,
      settings: {
        eventName: blankToNull(settings?.event_name),
        listId: blankToNull(settings?.list_id),
        token: blankToNull(settings?.kss_token),
      },
    },
  };
}
