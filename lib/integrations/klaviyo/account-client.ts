// The Klaviyo side of one of our accounts: its stored (encrypted) private key as a ready client.
import { decryptSecret, encryptSecret } from "@/lib/platform/crypto";
import type { Account } from "@/lib/db/client";
import { KlaviyoClient } from "@/lib/integrations/klaviyo";
import { OutcomeError } from "@/lib/outcomes";

export class KlaviyoNotConnectedError extends OutcomeError {
  constructor() {
    super("klaviyo_not_connected", "no Klaviyo private key is set: enter one in the widget settings in Kommo");
  }
}

export const klaviyoKeyContext = (accountId: string) => `account:${accountId}:klaviyo_api_key`;

export function sealKlaviyoKey(accountId: string, apiKey: string): string {
  return encryptSecret(apiKey, klaviyoKeyContext(accountId));
}

export function klaviyoClientFor(account: Pick<Account, "id" | "klaviyoApiKeyEnc">): KlaviyoClient {
  if (!account.klaviyoApiKeyEnc) throw new KlaviyoNotConnectedError();
  return new KlaviyoClient({ apiKey: decryptSecret(account.klaviyoApiKeyEnc, klaviyoKeyContext(account.id)), limiterId: account.id });
}
