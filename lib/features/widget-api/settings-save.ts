// Saving the settings panel: the Klaviyo key is accepted only after Klaviyo accepts it, stored
// encrypted and shown only as a hint; the stage -> list mappings replace the old ones at once.
import type { Account } from "@/lib/db/client";
import { db } from "@/lib/db/client";
import { loadSettings, settingsView, type SettingsView } from "@/lib/features/settings/account-settings";
import { applySettingsUpdate, type SettingsUpdate } from "@/lib/features/settings/settings";
import { KlaviyoClient, KlaviyoError, keyHint } from "@/lib/integrations/klaviyo";
import { klaviyoClientFor, sealKlaviyoKey } from "@/lib/integrations/klaviyo/account-client";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { checkConsentSettings } from "@/lib/features/consent/settings-check";
import { afterKlaviyoKeySaved } from "@/lib/orchestration";
import { OutcomeError } from "@/lib/outcomes";

/** A key Klaviyo refused, with the reason in words the admin can act on (answered as 422). */
export class KlaviyoKeyRejectedError extends OutcomeError {
  constructor(message: string) {
    super("klaviyo_key_rejected", message);
  }
}

/** Ask Klaviyo whether the key works before storing it. */
async function checkKlaviyoKey(accountId: string, apiKey: string) {
  const client = new KlaviyoClient({ apiKey, limiterId: accountId, maxRateLimitRetries: 1 });
  try {
    return await client.getAccount();
  } catch (error) {
    if (error instanceof KlaviyoError && (error.kind === "invalid_key" || error.kind === "missing_scope")) {
      throw new KlaviyoKeyRejectedError(
        error.kind === "invalid_key"
          ? `Klaviyo rejected the key ${keyHint(apiKey)}: it is not a valid private API key (copy it again from Klaviyo, Settings, API keys)`
          : `the key ${keyHint(apiKey)} lacks a scope this integration needs: ${error.message}. Create a key with Read access to Accounts and Full access to Profiles, Lists, Events and Metrics`,
      );
    }
    throw error;
  }
}

export async function updateSettings(account: Account, update: SettingsUpdate): Promise<SettingsView> {
  const current = await loadSettings(account);
  const next = applySettingsUpdate(current, update);
  const klaviyoAccount = update.klaviyoApiKey ? await checkKlaviyoKey(account.id, update.klaviyoApiKey) : null;
  if (update.consent || update.klaviyoApiKey) {
    await checkConsentSettings({
      accountId: account.id,
      current: current.consent,
      next: next.consent,
      keyChanged: Boolean(update.klaviyoApiKey),
      kommo: () => kommoClientFor(account.id),
      klaviyo: () =>
        update.klaviyoApiKey ? new KlaviyoClient({ apiKey: update.klaviyoApiKey, limiterId: account.id, maxRateLimitRetries: 1 }) : klaviyoClientFor(account),
    });
  }
  const { stageLists, ...stored } = next;

  const saved = await db().$transaction(async (tx) => {
    if (update.stageLists) {
      await tx.stageListMapping.deleteMany({ where: { accountId: account.id } });
      await tx.stageListMapping.createMany({ data: stageLists.map((mapping) => ({ accountId: account.id, ...mapping })) });
    }
    return tx.account.update({
      where: { id: account.id },
      data: {
        settings: stored,
        ...(update.klaviyoApiKey &&
          klaviyoAccount && {
            klaviyoApiKeyEnc: sealKlaviyoKey(account.id, update.klaviyoApiKey),
            klaviyoKeyHint: keyHint(update.klaviyoApiKey),
            klaviyoKeySetAt: new Date(),
            klaviyoAccountId: klaviyoAccount.id,
            klaviyoAccountName: klaviyoAccount.organizationName,
          }),
      },
    });
  });
  if (!update.klaviyoApiKey) return settingsView(saved, next);
  await afterKlaviyoKeySaved(account.id, { firstKey: !account.klaviyoApiKeyEnc, previous: account });
  // The key's webhook mode was settled just now.
  const mode = await db().account.findUniqueOrThrow({ where: { id: account.id }, select: { klaviyoWebhookId: true } });
  return settingsView({ ...saved, ...mode }, next);
}
