// The account's sync settings as the dashboard shows them: never the Klaviyo key, only its hint.
// Stage names come from the deals we synced (Kommo is not asked on every page view); list names
// from Klaviyo through the deal pane's short-lived cache, which never waits long for Klaviyo.
import { db } from "@/lib/db/client";
import { loadSettings, settingsView, type SettingsView } from "@/lib/features/sync/account-settings";
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
  const statusIds = view.stageLists.map((entry) => entry.statusId);
  const names = statusIds.length
    ? await db().deal.findMany({
        where: { accountId: account.id, statusId: { in: statusIds }, stageName: { not: null } },
        distinct: ["statusId"],
        select: { statusId: true, stageName: true },
      })
    : [];
  const nameOf = (statusId: number) => SYSTEM_STAGES[statusId] ?? names.find((row) => row.statusId === statusId)?.stageName ?? `Stage ${statusId}`;
  return { ...view, stageLists: view.stageLists.map((entry) => ({ ...entry, stageName: nameOf(entry.statusId) })), listNames };
}
