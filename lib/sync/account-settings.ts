// An account's sync settings as the widget reads and writes them: stage -> list mappings in their
// own table (one list per stage, enforced by the database), the rest as validated JSON, and the
// Klaviyo key stored encrypted, shown only as a hint, accepted only after Klaviyo accepts it.
import { startWaitingBackfills } from "@/lib/backfill/runs";
import { enqueuePendingLeadSyncs } from "@/lib/kommo/lead-jobs";
import type { Account } from "@/lib/db/client";
import { db } from "@/lib/db/client";
import { KlaviyoClient, KlaviyoError, keyHint } from "@/lib/klaviyo";
import { applySettingsUpdate, readStoredSettings, type SettingsUpdate, type SyncSettings } from "./settings";
import { sealKlaviyoKey } from "./klaviyo-account";

export type SettingsView = SyncSettings & {
  klaviyo: { connected: boolean; keyHint: string | null; accountName: string | null };
};

/** A key Klaviyo refused, with the reason in words the admin can act on (answered as 422). */
export class KlaviyoKeyRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KlaviyoKeyRejectedError";
  }
}

export async function loadSettings(account: Pick<Account, "id" | "settings">): Promise<SyncSettings> {
  const mappings = await db().stageListMapping.findMany({
    where: { accountId: account.id },
    orderBy: [{ pipelineId: "asc" }, { statusId: "asc" }],
    select: { pipelineId: true, statusId: true, listId: true },
  });
  return { ...readStoredSettings(account.settings), stageLists: mappings };
}

export function settingsView(account: Pick<Account, "klaviyoApiKeyEnc" | "klaviyoKeyHint" | "klaviyoAccountName">, settings: SyncSettings): SettingsView {
  return {
    ...settings,
    klaviyo: {
      connected: account.klaviyoApiKeyEnc !== null,
      keyHint: account.klaviyoApiKeyEnc ? account.klaviyoKeyHint : null,
      accountName: account.klaviyoApiKeyEnc ? account.klaviyoAccountName : null,
    },
  };
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
            klaviyoAccountId: klaviyoAccount.id,
            klaviyoAccountName: klaviyoAccount.organizationName,
          }),
      },
    });
  });
  // With Klaviyo connected, what waited for it goes: changes recorded before (their syncs stopped
  // for want of a key) and the import of existing deals that the install queued.
  if (update.klaviyoApiKey && !account.klaviyoApiKeyEnc) await enqueuePendingLeadSyncs(account.id);
  if (update.klaviyoApiKey) await startWaitingBackfills(account.id);
  return settingsView(saved, next);
}
