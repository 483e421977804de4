// An account's sync settings as every feature reads them: stage -> list mappings in their own
// table (one list per stage, enforced by the database), the rest as validated JSON. Saving them is
// the settings panel's (lib/features/widget-api/settings-save.ts).
import type { Account } from "@/lib/db/client";
import { stageListsOf } from "@/lib/db/stage-list-mappings";
import { getEnv } from "@/lib/platform/env";
import { readStoredSettings, type SyncSettings } from "./settings";

export type SettingsView = SyncSettings & {
  klaviyo: {
    connected: boolean;
    keyHint: string | null;
    accountName: string | null;
    /** How email activity arrives: Klaviyo system webhooks (with the poll as safety net), or the poll alone. */
    activityMode: "webhooks" | "polling";
    /** How often the poll reads Klaviyo (KLAVIYO_ACTIVITY_POLL_SECONDS). */
    activityPollSeconds: number;
  };
};

export async function loadSettings(account: Pick<Account, "id" | "settings">): Promise<SyncSettings> {
  return { ...readStoredSettings(account.settings), stageLists: await stageListsOf(account.id) };
}

export function settingsView(
  account: Pick<Account, "klaviyoApiKeyEnc" | "klaviyoKeyHint" | "klaviyoAccountName" | "klaviyoWebhookId">,
  settings: SyncSettings,
): SettingsView {
  return {
    ...settings,
    klaviyo: {
      connected: account.klaviyoApiKeyEnc !== null,
      keyHint: account.klaviyoApiKeyEnc ? account.klaviyoKeyHint : null,
      accountName: account.klaviyoApiKeyEnc ? account.klaviyoAccountName : null,
      activityMode: account.klaviyoApiKeyEnc && account.klaviyoWebhookId ? "webhooks" : "polling",
      activityPollSeconds: getEnv().KLAVIYO_ACTIVITY_POLL_SECONDS,
    },
  };
}
