// A ready API client for an installed account: its host, its shared rate-limit bucket and its
// self-refreshing tokens.
import { db } from "@/lib/db/client";
import { KommoClient } from "./client";
import { KommoApiError } from "./errors";
import { kommoBaseUrl } from "./hosts";
import { accountRateKey } from "./rate";
import type { TokenSource } from "./request";
import { accessTokenFor, confirmAccess, renewAccessToken, tokenColumns, usableTokens } from "./tokens";

export function accountTokenSource(accountId: string): TokenSource {
  return {
    current: (signal) => accessTokenFor(accountId, signal),
    renew: (rejected, signal) => renewAccessToken(accountId, rejected, signal),
    confirm: (rejected, signal) => confirmAccess(accountId, rejected, signal),
  };
}

/**
 * The client for one of our accounts (Account.id). Throws KommoAccountUnavailableError (not
 * retryable) when the account is disconnected or needs re-authorization.
 */
export async function kommoClientFor(accountId: string, signal?: AbortSignal, options: { maxSlotWaitMs?: number } = {}): Promise<KommoClient> {
  const row = await db().account.findUnique({ where: { id: accountId }, select: tokenColumns });
  const account = usableTokens(row, accountId);
  return new KommoClient({
    baseUrl: kommoBaseUrl(account.host),
    rateKey: accountRateKey(account.kommoAccountId),
    tokens: accountTokenSource(accountId),
    signal,
    maxSlotWaitMs: options.maxSlotWaitMs,
  });
}

/** A client bound to one token (the install, before the account row exists): a 401 is final. */
export function clientWithToken(host: string, accessToken: string, rateKey: string, signal?: AbortSignal, maxSlotWaitMs?: number): KommoClient {
  return new KommoClient({
    baseUrl: kommoBaseUrl(host),
    rateKey,
    signal,
    maxSlotWaitMs,
    tokens: {
      current: async () => accessToken,
      renew: async () => {
        throw new KommoApiError(401, "Kommo rejected the access token it has just issued", { retryable: false, code: "kommo_unauthorized" });
      },
    },
  });
}
