// What is wrong with an account, in words a person can act on: the notices at the top of the
// account page. A pure function of the account row and its health, so that what a person reads
// after, say, a bad Klaviyo key is fixed by a test, not by whoever last edited a page.
import type { Account } from "@/lib/db/client";
import type { AccountHealth, FailureGroup } from "./health";

export type NoticeAction = "replay_all" | "resume" | "reregister_webhook";

export type Notice = {
  tone: "critical" | "warning" | "info";
  /** Stable name for tests and styling. */
  kind: string;
  title: string;
  body: string;
  /** Where the fix is made, step by step. */
  fix?: string;
  /** Deals that are not in Klaviyo as they are in Kommo because of this. */
  affectedDeals?: number;
  action?: NoticeAction;
  /** The fix is made in Kommo's integration settings: the notice links there. */
  fixInKommo?: boolean;
};

type AccountFacts = Pick<Account, "status" | "statusReason" | "paused" | "klaviyoApiKeyEnc" | "klaviyoKeyHint" | "klaviyoKeySetAt" | "webhookRegisteredAt">;

export const WIDGET_SETTINGS_PATH = "Kommo → Settings → Integrations → Klaviyo Sync";


const deals = (count: number) => `${count} ${count === 1 ? "deal" : "deals"}`;

function failureNotice(group: FailureGroup, account: AccountFacts): Notice {
  const connected = account.klaviyoApiKeyEnc !== null;
  const replay = { affectedDeals: group.deals, action: "replay_all" as const };
  switch (group.errorCode) {
    case "klaviyo_invalid_key": {
      // A key is saved only after Klaviyo accepts it: one saved after the last rejection replaced the bad one.
      const replacedSince = connected && account.klaviyoKeySetAt !== null && account.klaviyoKeySetAt > group.lastAt;
      if (replacedSince) {
        return {
          tone: "warning",
          kind: "key_replaced",
          title: `The Klaviyo key was replaced: replay the ${deals(group.deals)} that failed`,
          body: `Klaviyo rejected the key used before. The key now set is ${account.klaviyoKeyHint ?? "a new one"}; replay the failed deals to send them with it.`,
          ...replay,
        };
      }
      return {
        tone: "critical",
        kind: "invalid_key",
        title: `Klaviyo rejects the key ${account.klaviyoKeyHint ?? ""}`.trim(),
        body: `${deals(group.deals)} could not be sent to Klaviyo because Klaviyo does not accept this private API key (wrong, revoked, or not a private key). Nothing is sent until the key is replaced.`,
        fix: `Create a private API key in Klaviyo (Settings → API keys, full access to Profiles, Lists and Events), paste it in ${WIDGET_SETTINGS_PATH}, then replay the failed deals here.`,
        fixInKommo: true,
        ...replay,
      };
    }
    case "klaviyo_missing_scope":
      return {
        tone: "critical",
        kind: "missing_scope",
        title: `The Klaviyo key ${account.klaviyoKeyHint ?? ""} lacks a permission`.replace("  ", " "),
        body: `${deals(group.deals)} failed: ${group.example}`,
        fix: `Give the key the missing scope in Klaviyo (Settings → API keys), or paste a key that has it in ${WIDGET_SETTINGS_PATH}, then replay the failed deals.`,
        fixInKommo: true,
        ...replay,
      };
    case "klaviyo_not_connected":
      return connected
        ? {
            tone: "warning",
            kind: "key_added",
            title: `A Klaviyo key is set now: replay the ${deals(group.deals)} that waited for it`,
            body: `These deals changed before a Klaviyo key was entered. Replay them to send them to Klaviyo.`,
            ...replay,
          }
        : {
            tone: "critical",
            kind: "not_connected",
            title: "Klaviyo is not connected",
            body: `${deals(group.deals)} changed in Kommo but cannot be sent: no Klaviyo private API key is set.`,
            fix: `Paste a Klaviyo private API key in ${WIDGET_SETTINGS_PATH}, then replay the failed deals here.`,
            fixInKommo: true,
            ...replay,
          };
    case "kommo_reauth_required":
    case "kommo_token_revoked":
    case "kommo_disconnected":
      return {
        tone: "critical",
        kind: "kommo_access",
        title: "Kommo access was withdrawn",
        body: `${deals(group.deals)} could not be read from Kommo: ${group.example}`,
        fix: "A Kommo administrator reinstalls Klaviyo Sync (Kommo → Settings → Integrations), then replays the failed deals here.",
        fixInKommo: true,
        ...replay,
      };
    default:
      return {
        tone: "warning",
        kind: "sync_failures",
        title: `${deals(group.deals)} failed to sync`,
        body: group.example,
        fix: "Check the message, correct the deal or the settings it names, then replay.",
        ...replay,
      };
  }
}

export function diagnose(account: AccountFacts, health: Pick<AccountHealth, "openFailures">, pendingDeals = 0): Notice[] {
  const notices: Notice[] = [];
  if (account.status === "disconnected") {
    notices.push({
      tone: "critical",
      kind: "disconnected",
      title: "Klaviyo Sync was uninstalled from this Kommo account",
      body: account.statusReason ?? "Kommo withdrew the integration's access; nothing is synced.",
      fix: "Install Klaviyo Sync again from the Kommo marketplace to resume syncing.",
    });
  } else if (account.status === "needs_reauth") {
    notices.push({
      tone: "critical",
      kind: "needs_reauth",
      title: "Kommo access has to be granted again",
      body: account.statusReason ?? "Kommo no longer accepts this integration's access; deal changes are kept but not synced.",
      fix: "A Kommo administrator opens Kommo → Settings → Integrations → Klaviyo Sync and installs it again. Waiting changes are synced afterwards.",
      fixInKommo: true,
    });
  }
  const groups = health.openFailures.groups;
  for (const group of groups) notices.push(failureNotice(group, account));
  if (account.status === "installed" && !account.klaviyoApiKeyEnc && !groups.some((group) => group.errorCode === "klaviyo_not_connected")) {
    notices.push({
      tone: "warning",
      kind: "not_connected",
      title: "Klaviyo is not connected yet",
      body: "Deal changes are recorded but not sent until a Klaviyo private API key is set.",
      fix: `Paste a Klaviyo private API key in ${WIDGET_SETTINGS_PATH}.`,
      fixInKommo: true,
    });
  }
  if (account.status === "installed" && !account.webhookRegisteredAt) {
    notices.push({
      tone: "warning",
      kind: "webhook_missing",
      title: "Kommo is not sending deal changes",
      body: account.statusReason ?? "The deal webhook is not registered with Kommo, so changes do not reach this integration.",
      fix: "Register the webhook again here. If Kommo refuses it, the account's plan may not include API webhooks.",
      action: "reregister_webhook",
    });
  }
  if (account.paused) {
    notices.push({
      tone: "info",
      kind: "paused",
      title: "Syncing is paused",
      body: `Deal changes are kept and sent when syncing resumes${pendingDeals > 0 ? `; ${deals(pendingDeals)} are waiting` : ""}.`,
      action: "resume",
    });
  }
  const order = { critical: 0, warning: 1, info: 2 };
  return notices.sort((a, b) => order[a.tone] - order[b.tone]);
}
