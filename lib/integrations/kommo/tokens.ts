// Access tokens of installed accounts: encrypted at rest, refreshed shortly before they expire and
// after a 401, by one caller at a time across every process.
//
// Why a row lock: Kommo retires a refresh token the moment it is used, so two workers refreshing
// together would leave one of them holding a dead token. `SELECT ... FOR UPDATE` on the Account row
// makes the second caller wait, then read the pair the first one stored. It also orders a refresh
// against the revoke hook's update of the same row, so a refresh can never write tokens back into
// an account that was just disconnected.
import { db, numberIds } from "@/lib/db/client";
import { decryptSecret, encryptSecret } from "@/lib/platform/crypto";
import { logger } from "@/lib/platform/log";
import { KommoAccountUnavailableError, KommoApiError, KommoTokenRevokedError, isKommoError } from "./errors";
import { kommoBaseUrl } from "./hosts";
import { refreshTokenPair, type TokenPair } from "./oauth";
import { accountRateKey, takeSlot } from "./rate";
import { kommoRequest } from "./request";

/** Refresh this long before Kommo's expiry, so that a call never starts with a token about to die. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

/** The lock is held across one token call (REQUEST_TIMEOUT_MS) plus two statements. */
const LOCKED_TRANSACTION = { maxWait: 10_000, timeout: 30_000 };

export const tokenContext = (accountId: string, which: "access_token" | "refresh_token") => `account:${accountId}:${which}`;

/** The columns that hold a token pair, sealed for this account. */
export function sealTokenPair(accountId: string, pair: TokenPair) {
  return {
    accessTokenEnc: encryptSecret(pair.accessToken, tokenContext(accountId, "access_token")),
    refreshTokenEnc: encryptSecret(pair.refreshToken, tokenContext(accountId, "refresh_token")),
    accessTokenExpiresAt: pair.expiresAt,
  };
}

type TokenRow = {
  id: string;
  kommoAccountId: number;
  host: string;
  status: string;
  statusReason: string | null;
  accessTokenEnc: string | null;
  refreshTokenEnc: string | null;
  accessTokenExpiresAt: Date | null;
};

/** What a client for the account needs to read (see usableTokens). */
export const tokenColumns = {
  id: true,
  kommoAccountId: true,
  host: true,
  status: true,
  statusReason: true,
  accessTokenEnc: true,
  refreshTokenEnc: true,
  accessTokenExpiresAt: true,
} as const;

/** The token columns as read (the Kommo id a bigint through Prisma, a number through the small pool). */
export type StoredTokens = Omit<TokenRow, "kommoAccountId"> & { kommoAccountId: bigint | number };

/** Throws the reason an account cannot be called; returns its sealed tokens otherwise. */
export function usableTokens(stored: StoredTokens | null, accountId: string): TokenRow & { accessTokenEnc: string; refreshTokenEnc: string } {
  const row = stored && numberIds(stored);
  if (!row) throw new KommoAccountUnavailableError("kommo_account_not_found", `No Kommo account with id ${accountId} is installed`);
  if (row.status === "disconnected") {
    throw new KommoAccountUnavailableError("kommo_disconnected", row.statusReason ?? "The integration was disconnected from this Kommo account");
  }
  if (row.status === "needs_reauth" || !row.accessTokenEnc || !row.refreshTokenEnc) {
    throw new KommoAccountUnavailableError(
      "kommo_reauth_required",
      row.statusReason ?? "Kommo access for this account is missing; a Kommo admin must reinstall the integration",
    );
  }
  return row as TokenRow & { accessTokenEnc: string; refreshTokenEnc: string };
}

const isFresh = (row: TokenRow, now = Date.now()) =>
  row.accessTokenExpiresAt !== null && row.accessTokenExpiresAt.getTime() - REFRESH_MARGIN_MS > now;

/** The row's access token when it is not about to expire; null when it must be renewed first. */
export function freshAccessToken(row: TokenRow): string | null {
  return isFresh(row) && row.accessTokenEnc ? decryptSecret(row.accessTokenEnc, tokenContext(row.id, "access_token")) : null;
}

/** A valid access token for the account, refreshed first when it is about to expire. */
export async function accessTokenFor(accountId: string, signal?: AbortSignal): Promise<string> {
  const row = usableTokens(await db().account.findUnique({ where: { id: accountId }, select: tokenColumns }), accountId);
  return freshAccessToken(row) ?? renewAccessToken(accountId, undefined, signal);
}

export function reauthReason(error: KommoTokenRevokedError): string {
  return (
    `Kommo refused to renew this integration's access (${error.hint ?? `HTTP ${error.status}`}). ` +
    "A Kommo admin must reinstall or re-authorize Klaviyo Sync; syncing is stopped until then."
  );
}

/**
 * Refresh the account's token pair, unless another caller already did while we waited for the lock.
 * `rejected` is the token Kommo just answered 401 to; without it, the token is refreshed only when
 * it is close to expiry.
 */
export async function renewAccessToken(accountId: string, rejected?: string, signal?: AbortSignal): Promise<string> {
  return (await renewTokens(accountId, rejected, signal)).token;
}

/** As renewAccessToken, and whether this call is the one that had Kommo issue the token. */
async function renewTokens(accountId: string, rejected?: string, signal?: AbortSignal): Promise<{ token: string; refreshed: boolean }> {
  const preview = usableTokens(await db().account.findUnique({ where: { id: accountId }, select: tokenColumns }), accountId);
  const rateKey = accountRateKey(preview.kommoAccountId);
  // Taken before the lock so that a wait for the rate limiter never holds the row (or a connection).
  await takeSlot(rateKey, signal);

  type Outcome = { token: string; refreshed: boolean } | { revoked: string };
  const outcome = await db().$transaction(async (tx): Promise<Outcome> => {
    await tx.$queryRaw`SELECT "id" FROM "Account" WHERE "id" = ${accountId}::uuid FOR UPDATE`;
    const row = usableTokens(await tx.account.findUnique({ where: { id: accountId }, select: tokenColumns }), accountId);
    const current = decryptSecret(row.accessTokenEnc, tokenContext(accountId, "access_token"));
    const replacedMeanwhile = rejected === undefined || current !== rejected;
    if (replacedMeanwhile && isFresh(row)) return { token: current, refreshed: false };

    const refreshToken = decryptSecret(row.refreshTokenEnc, tokenContext(accountId, "refresh_token"));
    let pair: TokenPair;
    try {
      pair = await refreshTokenPair(row.host, refreshToken, rateKey, signal);
    } catch (error) {
      if (!(error instanceof KommoTokenRevokedError)) throw error;
      const reason = reauthReason(error);
      // The dead pair is removed too: nothing can use it, and a reinstall brings a new one.
      await tx.account.update({
        where: { id: accountId },
        data: { status: "needs_reauth", statusReason: reason, accessTokenEnc: null, refreshTokenEnc: null, accessTokenExpiresAt: null },
      });
      return { revoked: reason };
    }
    await tx.account.update({ where: { id: accountId }, data: sealTokenPair(accountId, pair) });
    return { token: pair.accessToken, refreshed: true };
  }, LOCKED_TRANSACTION);

  if ("revoked" in outcome) {
    logger().warn({ accountId }, "Kommo refresh token rejected: account needs re-authorization");
    throw new KommoAccountUnavailableError("kommo_reauth_required", outcome.revoked);
  }
  if (outcome.refreshed) logger().info({ accountId }, "Kommo tokens refreshed");
  return outcome;
}

/** The account read's 401: the access of a token Kommo issued a moment ago is refused. */
class AccessRefused extends Error {}

const unsettled = (message: string) => new KommoApiError(401, message, { retryable: true, code: "kommo_access_unconfirmed" });

/**
 * Kommo answered 401 to `rejected` although it had been renewed a moment before. One such answer is
 * no verdict (Kommo can refuse a token for a moment), so before concluding anything: one more
 * refresh, then an account read with the token that refresh brought.
 *  - The token endpoint refuses the refresh token: the access is gone (renewTokens has marked the
 *    account needs_reauth and throws kommo_reauth_required).
 *  - Another caller replaced `rejected` meanwhile: its token is returned for the call to repeat;
 *    this call issued nothing, so it proves nothing.
 *  - The read succeeds: the refusal was passing, and the token is returned.
 *  - The read is refused too: two tokens Kommo issued one after the other were both refused, so the
 *    access is withdrawn; the account goes to needs_reauth and kommo_reauth_required is thrown.
 *  - Anything else (Kommo down, throttled, the pair replaced meanwhile): unsettled, a retryable
 *    kommo_access_unconfirmed, so that the deal's changes wait in the queue instead of stopping.
 */
export async function confirmAccess(accountId: string, rejected: string, signal?: AbortSignal): Promise<string> {
  const { token, refreshed } = await renewTokens(accountId, rejected, signal);
  if (!refreshed) return token;
  const row = usableTokens(await db().account.findUnique({ where: { id: accountId }, select: tokenColumns }), accountId);
  try {
    await kommoRequest(
      {
        baseUrl: kommoBaseUrl(row.host),
        rateKey: accountRateKey(row.kommoAccountId),
        signal,
        tokens: {
          current: async () => token,
          renew: async () => {
            throw new AccessRefused();
          },
        },
      },
      { method: "GET", path: "/api/v4/account" },
    );
    return token;
  } catch (error) {
    if (!(error instanceof AccessRefused)) {
      if (isKommoError(error) && error.code === "kommo_aborted") throw error;
      throw unsettled("Kommo refused a token it had just issued, and the check of the account's access did not finish");
    }
  }
  const reason =
    "Kommo refused this integration's access right after renewing its token, and again when checked with a newly issued one. " +
    "A Kommo admin must reinstall or re-authorize Klaviyo Sync; syncing is stopped until then.";
  const concluded = await db().$transaction(async (tx) => {
    await tx.$queryRaw`SELECT "id" FROM "Account" WHERE "id" = ${accountId}::uuid FOR UPDATE`;
    const current = await tx.account.findUnique({ where: { id: accountId }, select: tokenColumns });
    const stillOurs =
      current?.status === "installed" && current.accessTokenEnc !== null && decryptSecret(current.accessTokenEnc, tokenContext(accountId, "access_token")) === token;
    // A reinstall or another refresh in the meantime brought a pair this check says nothing about.
    if (!stillOurs) return false;
    await tx.account.update({
      where: { id: accountId },
      data: { status: "needs_reauth", statusReason: reason, accessTokenEnc: null, refreshTokenEnc: null, accessTokenExpiresAt: null },
    });
    return true;
  }, LOCKED_TRANSACTION);
  if (!concluded) throw unsettled("Kommo refused a token it had just issued while the account's tokens were being replaced");
  logger().warn({ accountId }, "Kommo refused two newly issued tokens in a row: account needs re-authorization");
  throw new KommoAccountUnavailableError("kommo_reauth_required", reason);
}
