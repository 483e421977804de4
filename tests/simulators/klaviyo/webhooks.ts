// Klaviyo system webhook deliveries, as Klaviyo sends them: POST, JSON body
// `{"data":[{"external_id","topic","payload":<the event as Get Event returns it>}],"meta":{...}}`,
// headers Klaviyo-Webhook-Id, Klaviyo-Timestamp (IMF-fixdate) and Klaviyo-Signature =
// hex(HMAC-SHA256(secret, raw body + timestamp)).
import { createHmac, randomUUID } from "node:crypto";
import { eventResource } from "./responses";
import type { SimAccount, SimEvent } from "./store";

export type SystemWebhookDelivery = { body: string; headers: Record<string, string> };

/** `Opened Email` -> `event:klaviyo.opened_email`. */
export const topicOf = (metricName: string) => `event:klaviyo.${metricName.toLowerCase().replace(/\s+/g, "_")}`;

export function systemWebhookDelivery(
  account: SimAccount,
  events: SimEvent[],
  options: { secret: string; webhookId?: string; sentAt?: Date; base?: string },
): SystemWebhookDelivery {
  const webhookId = options.webhookId ?? randomUUID();
  const sentAt = options.sentAt ?? new Date();
  const body = JSON.stringify({
    data: events.map((event) => ({
      external_id: event.id,
      topic: topicOf(account.metrics.get(event.metricId)?.name ?? "unknown"),
      payload: { data: eventResource(event, options.base ?? "https://a.klaviyo.com") },
    })),
    meta: { klaviyo_account_id: account.id, klaviyo_webhook_id: webhookId, timestamp: sentAt.toISOString(), version: "2026-07-15" },
  });
  const timestamp = sentAt.toUTCString();
  return {
    body,
    headers: {
      "Content-Type": "application/json",
      "Klaviyo-Webhook-Id": webhookId,
      "Klaviyo-Timestamp": timestamp,
      "Klaviyo-Signature": createHmac("sha256", options.secret).update(body + timestamp).digest("hex"),
    },
  };
}
