// The account's sync settings as the dashboard shows them: never the Klaviyo key, only its hint.
// Stage names come from the deals we synced (Kommo is not asked on every page view); list names
// from Klaviyo through the deal pane's short-lived cache, which never waits long for Klaviyo.
import { stageNamesOf } from "@/lib/db/deals";
import { loadSettings, settingsView, type SettingsView } from "@/lib/features/settings/account-settings";
import { klaviyoListNames } from "@/lib/features/widget-api/list-names";
import type { AuthorizedAccount } from "./access";

const SYSTEM_STAGES: Record<number, string> = { 142: "Won", 143: "Lost" };

export type SettingsSummary = Omit<SettingsView, "stageLists"> & {
  stageLists: { pipelineId: number; statusId: number; stageName: string; listId: string }[];
  /** Klaviyo list id -> name; null when Klaviyo did not answer quickly (ids are shown then). */
  listNames: ReadonlyMap<string, string> | null;
};

export async function settingsSummary(account: AuthorizedAccount): Promise<SettingsSummary> {
  const [settings, listNames] = await Promise.all([loadSettings(account), klaviyoListNames(account)]);
  const view = settingsView(account, settings);
  const names = await stageNamesOf(account.id, view.stageLists.map((entry) => entry.statusId));
  const nameOf = (statusId: number) => SYSTEM_STAGES[statusId] ?? names.get(statusId) ?? `Stage ${statusId}`;
  return { ...view, stageLists: view.stageLists.map((entry) => ({ ...entry, stageName: nameOf(entry.statusId) })), listNames };
}
