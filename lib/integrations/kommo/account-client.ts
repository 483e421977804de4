// A ready API client for an installed account: its host, its shared rate-limit bucket and its
// self-refreshing tokens.
import { db } from "@/lib/db/client";
import { KommoClient } from "./client";
import { KommoApiError } from "./errors";
import { kommoBaseUrl } from "./hosts";
import { accountRateKey } from "./rate";
import type { TokenSource } from "./request";
import { accessTokenFor, confirmAccess, freshAccessToken, renewAccessToken, tokenColumns, usableTokens, type StoredTokens } from "./tokens";

/**
 * How long a client keeps using the token it read before reading the stored one again. A client
 * asks before every call; within a job its calls are seconds apart, and a token renewed by another
 * process meanwhile is picked up after this long, or at once through the 401 the old one gets.
 */
const TOKEN_REUSE_MS = 30_000;

/** The account's tokens for one client; `known`: an access token just read with the account's row. */
export function accountTokenSource(accountId: string, known: string | null = null): TokenSource {
  let held: { token: string; at: number } | null = known ? { token: known, at: Date.now() } : null;
  const hold = (token: string) => {
    held = { token, at: Date.now() };
    return token;
  };
  return {
    current: async (signal) => (held && Date.now() - held.at < TOKEN_REUSE_MS ? held.token : hold(await accessTokenFor(accountId, signal))),
    renew: async (rejected, signal) => {
      held = null;
      return hold(await renewAccessToken(accountId, rejected, signal));
    },
    confirm: async (rejected, signal) => {
      held = null;
      return hold(await confirmAccess(accountId, rejected, signal));
    },
  };
}

/**
 * The client for one of our accounts (Account.id). Throws KommoAccountUnavailableError (not
 * retryable) when the account is disconnected or needs re-authorization. `account`: its row when
 * the caller has just read it (a sync), which spares reading the tokens again.
 */
export async function kommoClientFor(
  accountId: string,
  signal?: AbortSignal,
  options: { maxSlotWaitMs?: number; account?: StoredTokens } = {},
): Promise<KommoClient> {
  const row = options.account ?? (await db().account.findUnique({ where: { id: accountId }, select: tokenColumns }));
  const account = usableTokens(row, accountId);
  return new KommoClient({
    baseUrl: kommoBaseUrl(account.host),
    rateKey: accountRateKey(account.kommoAccountId),
    tokens: accountTokenSource(accountId, freshAccessToken(account)),
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
