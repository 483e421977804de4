// The Klaviyo side of one of our accounts: its stored (encrypted) private key as a ready client.
import { decryptSecret, encryptSecret } from "@/lib/platform/crypto";
import type { Account } from "@/lib/db/client";
import { KlaviyoClient, type KlaviyoClientOptions } from "@/lib/integrations/klaviyo";
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

/** `options`: e.g. a short timeout and no retries for a read that someone is waiting for. */
export function klaviyoClientFor(
  account: Pick<Account, "id" | "klaviyoApiKeyEnc">,
  options: Pick<KlaviyoClientOptions, "timeoutMs" | "maxRateLimitRetries" | "maxTransientRetries"> = {},
): KlaviyoClient {
  if (!account.klaviyoApiKeyEnc) throw new KlaviyoNotConnectedError();
  return new KlaviyoClient({ ...options, apiKey: decryptSecret(account.klaviyoApiKeyEnc, klaviyoKeyContext(account.id)), limiterId: account.id });
}
