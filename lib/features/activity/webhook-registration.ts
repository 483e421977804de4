// Registering the product's signed Klaviyo system webhook for the six email topics, for keys that
// may (`webhooks:read`/`webhooks:write`; Klaviyo offers the Webhooks API to Advanced KDP accounts
// and app partners only). Registered when a key is saved, removed with the old key when the key is
// replaced and when the account uninstalls. Polling stays on either way: it is the safety net, and
// an event that arrives both ways is one row (klaviyo-webhook.ts, store.ts).
//
// Anything Klaviyo refuses here (no Webhooks API, a key without the scope) leaves the account in
// polling mode; a key save never fails for it. Account.klaviyoWebhookId says which mode it is in.
import type { Account } from "@/lib/db/client";
import { db } from "@/lib/db/client";
import { KlaviyoError } from "@/lib/integrations/klaviyo";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";
import { getEnv } from "@/lib/platform/env";
import { logger } from "@/lib/platform/log";
import { klaviyoWebhookRegistration } from "./klaviyo-webhook";
import { ACTIVITY_METRICS } from "./note-text";

export const WEBHOOK_NAME = "Klaviyo Sync for Kommo: email activity";

/** `Opened Email` -> `event:klaviyo.opened_email` (Klaviyo's topic ids for its own metrics). */
export const EMAIL_TOPICS = ACTIVITY_METRICS.map((metric) => `event:klaviyo.${metric.toLowerCase().replace(/\s+/g, "_")}`);

export type WebhookMode = "webhooks" | "polling";

type KeyHolder = Pick<Account, "id" | "klaviyoApiKeyEnc">;

/**
 * Register the webhook with the account's current key; returns the mode the account is in.
 * An existing webhook of ours at the same address (a key saved again) is reused.
 */
export async function registerKlaviyoWebhook(account: KeyHolder): Promise<WebhookMode> {
  const { endpointUrl, secretKey } = klaviyoWebhookRegistration(account.id);
  // Klaviyo delivers to https only; a local or test install polls.
  if (!getEnv().APP_URL.startsWith("https://") || !account.klaviyoApiKeyEnc) return setMode(account.id, null);
  const klaviyo = klaviyoClientFor(account, { maxRateLimitRetries: 1 });
  try {
    const existing = (await klaviyo.getWebhooks()).find((webhook) => webhook.endpointUrl === endpointUrl);
    const id = existing?.id ?? (await klaviyo.createWebhook({ name: WEBHOOK_NAME, endpointUrl, secretKey, topics: EMAIL_TOPICS }));
    logger().info({ accountId: account.id, webhookId: id }, "Klaviyo system webhook registered");
    return setMode(account.id, id);
  } catch (error) {
    if (!(error instanceof KlaviyoError)) throw error;
    logger().info({ accountId: account.id, err: error }, "Klaviyo system webhooks not available to this key; polling only");
    return setMode(account.id, null);
  }
}

/** Delete the webhook registered with `account`'s key (the key being replaced, or an uninstall). Never throws for Klaviyo. */
export async function removeKlaviyoWebhook(account: KeyHolder & Pick<Account, "klaviyoWebhookId">): Promise<void> {
  if (!account.klaviyoWebhookId || !account.klaviyoApiKeyEnc) return;
  try {
    await klaviyoClientFor(account, { maxRateLimitRetries: 1 }).deleteWebhook(account.klaviyoWebhookId);
  } catch (error) {
    // Gone already, or the old key revoked: nothing more we can do with it.
    if (!(error instanceof KlaviyoError)) throw error;
    logger().info({ accountId: account.id, err: error }, "could not remove the Klaviyo system webhook");
  }
  await db().account.updateMany({ where: { id: account.id, klaviyoWebhookId: account.klaviyoWebhookId }, data: { klaviyoWebhookId: null } });
}

async function setMode(accountId: string, webhookId: string | null): Promise<WebhookMode> {
  await db().account.update({ where: { id: accountId }, data: { klaviyoWebhookId: webhookId } });
  return webhookId ? "webhooks" : "polling";
}
