// The dashboard's JSON shapes. An account is described without its secrets: no tokens, no hook
// key, no Klaviyo key (its hint only).
import type { AuthorizedAccount } from "./access";
import type { AccountHealth } from "./health";

export function accountJson(account: AuthorizedAccount, health: AccountHealth) {
  return {
    id: account.id,
    kommoAccountId: account.kommoAccountId,
    name: account.name,
    subdomain: account.subdomain,
    status: account.status,
    statusReason: account.statusReason,
    paused: account.paused,
    klaviyo: { connected: account.klaviyoApiKeyEnc !== null, keyHint: account.klaviyoApiKeyEnc ? account.klaviyoKeyHint : null, accountName: account.klaviyoAccountName },
    webhookRegisteredAt: account.webhookRegisteredAt,
    health,
  };
}
