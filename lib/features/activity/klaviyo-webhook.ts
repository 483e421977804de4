// Klaviyo system webhooks (POST /api/klaviyo/webhooks/{hookKey}), for accounts whose Klaviyo plan
// has them: the same email events as the poll, seconds after they happen. The poll stays as the
// safety net; an event that arrives both ways is one row (Klaviyo's event id).
//
// Authentication, as Klaviyo signs deliveries: `Klaviyo-Signature` = hex(HMAC-SHA256(secret,
// raw body + Klaviyo-Timestamp header)), compared in constant time; the timestamp must be within
// five minutes (a replayed delivery is refused); `meta.klaviyo_webhook_id` must match the
// `Klaviyo-Webhook-Id` header. The URL key and the signing secret are derived per account from
// AUTH_SECRET, so nothing new is stored; register them in Klaviyo with klaviyoWebhookRegistration.
import { enqueueActivityPoll } from "./poll";
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { db } from "@/lib/db/client";
import { getEnv } from "@/lib/platform/env";
import { jsonError } from "@/lib/platform/http/errors";
import { logger } from "@/lib/platform/log";
import { activityMetricNamed } from "./note-text";
import { storeEmailEvents, type IncomingEmailEvent } from "./store";

export const REPLAY_WINDOW_MS = 5 * 60_000;
/** Klaviyo batches up to 1000 events in a delivery; a few megabytes at most. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

const derive = (label: string, accountId: string) => createHmac("sha256", getEnv().AUTH_SECRET).update(`${label}:${accountId}`).digest("base64url");

/** The unguessable path key of the account's Klaviyo webhook URL: its id and a MAC of it. */
export const klaviyoHookKey = (accountId: string) => `${accountId}.${derive("klaviyo-webhook-url", accountId)}`;

/** The `secret_key` to give Klaviyo when creating the webhook (POST /api/webhooks). */
export const klaviyoWebhookSecret = (accountId: string) => derive("klaviyo-webhook-secret", accountId);

export function klaviyoWebhookRegistration(accountId: string): { endpointUrl: string; secretKey: string } {
  return { endpointUrl: `${getEnv().APP_URL}/api/klaviyo/webhooks/${klaviyoHookKey(accountId)}`, secretKey: klaviyoWebhookSecret(accountId) };
}

const sameText = (a: string, b: string) => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/** The account a hook key belongs to, or null (a made-up key, or one of another installation). */
function accountOfHookKey(hookKey: string): string | null {
  const match = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(hookKey);
  if (!match) return null;
  return sameText(hookKey, klaviyoHookKey(match[1]!)) ? match[1]! : null;
}

export function signKlaviyoDelivery(secret: string, rawBody: string, timestamp: string): string {
  return createHmac("sha256", secret).update(rawBody + timestamp).digest("hex");
}

/** Klaviyo-Timestamp has been seen as IMF-fixdate and as ISO 8601 (and epoch seconds are plausible). */
function parseTimestamp(value: string): number | null {
  const epoch = /^\d{9,11}$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  return Number.isNaN(epoch) ? null : epoch;
}

const resource = z.looseObject({
  id: z.string().min(1),
  attributes: z.looseObject({ datetime: z.string().nullish(), event_properties: z.record(z.string(), z.unknown()).nullish() }),
  relationships: z.looseObject({ profile: z.looseObject({ data: z.looseObject({ id: z.string() }).nullish() }).optional() }).optional(),
});

const deliverySchema = z.object({
  data: z
    .array(
      z.looseObject({
        external_id: z.string().min(1).optional(),
        topic: z.string(),
        // "the same shape as Get Event": the event resource, alone or in its `data` envelope.
        payload: z.union([z.looseObject({ data: resource }).transform((value) => value.data), resource]),
      }),
    )
    .max(5000),
  meta: z.looseObject({ klaviyo_webhook_id: z.string().optional() }).optional(),
});

/** `event:klaviyo.opened_email` -> "Opened Email"; topics of other metrics are not ours. */
export const metricOfTopic = (topic: string) => activityMetricNamed(/^event:klaviyo\.(.+)$/.exec(topic)?.[1]?.replace(/_/g, " "));

export async function handleKlaviyoWebhook(request: Request, hookKey: string): Promise<Response> {
  const accountId = accountOfHookKey(hookKey);
  if (!accountId) return jsonError(404, "unknown_hook", "No webhook at this address");
  const account = await db().account.findUnique({ where: { id: accountId }, select: { id: true, status: true, paused: true } });
  if (!account) return jsonError(404, "unknown_hook", "No webhook at this address");

  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) return jsonError(413, "body_too_large", "The body is too large");
  const raw = await request.text();
  if (Buffer.byteLength(raw) > MAX_BODY_BYTES) return jsonError(413, "body_too_large", "The body is too large");

  const timestamp = request.headers.get("klaviyo-timestamp") ?? "";
  const signature = (request.headers.get("klaviyo-signature") ?? "").trim().toLowerCase();
  const expected = signKlaviyoDelivery(klaviyoWebhookSecret(account.id), raw, timestamp);
  if (!timestamp || !sameText(signature, expected)) return jsonError(401, "bad_signature", "The Klaviyo-Signature does not match this delivery");
  const sentAt = parseTimestamp(timestamp);
  if (sentAt === null || Math.abs(Date.now() - sentAt) > REPLAY_WINDOW_MS) {
    return jsonError(401, "stale_delivery", "The Klaviyo-Timestamp is missing or more than 5 minutes away from now");
  }

  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return jsonError(400, "malformed_body", "The body is not JSON");
  }
  const parsed = deliverySchema.safeParse(json);
  if (!parsed.success) return jsonError(400, "malformed_body", `Not a Klaviyo webhook delivery (${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message})`);
  const webhookId = request.headers.get("klaviyo-webhook-id");
  if (webhookId && parsed.data.meta?.klaviyo_webhook_id && parsed.data.meta.klaviyo_webhook_id !== webhookId) {
    return jsonError(400, "webhook_mismatch", "meta.klaviyo_webhook_id does not match the Klaviyo-Webhook-Id header");
  }
  // Nothing is kept for an account that is not syncing; Klaviyo must not retry for that.
  if (account.status !== "installed" || account.paused) return Response.json({ received: true });

  const events: IncomingEmailEvent[] = [];
  for (const item of parsed.data.data) {
    const metric = metricOfTopic(item.topic);
    if (!metric) continue;
    events.push({
      id: item.external_id ?? item.payload.id,
      metric,
      profileId: item.payload.relationships?.profile?.data?.id ?? null,
      datetime: item.payload.attributes.datetime ?? null,
      properties: item.payload.attributes.event_properties ?? {},
    });
  }
  const stored = await storeEmailEvents(account.id, events);
  // The notes are written by the account's activity job, with Kommo's rate limit, not in this request.
  if (stored > 0) await enqueueActivityPoll(account.id);
  logger().debug({ accountId: account.id, received: parsed.data.data.length, stored }, "Klaviyo webhook delivery");
  return Response.json({ received: true, stored });
}
