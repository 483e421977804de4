// The account's Digital Pipeline token. Kommo signs nothing it posts to the action's hook, so the
// widget writes this random per-account token into each action's hidden `kss_token` setting and
// every hook must bring it back. It is kept sealed (lib/platform/crypto), because the widget needs
// it again to fill new actions; rotating it replaces it, and actions saved with the old one stop
// acting until they are saved again. It never reaches a log.
import { randomBytes, timingSafeEqual, createHash } from "node:crypto";
import { db } from "@/lib/db/client";
import { decryptSecret, encryptSecret } from "@/lib/platform/crypto";

const context = (accountId: string) => `account:${accountId}:dp_token`;

const newToken = () => randomBytes(32).toString("base64url");

/** The account's token, created on first use (two concurrent first uses agree on one). */
export async function digitalPipelineToken(accountId: string): Promise<string> {
  const account = await db().account.findUniqueOrThrow({ where: { id: accountId }, select: { dpTokenEnc: true } });
  if (account.dpTokenEnc) return decryptSecret(account.dpTokenEnc, context(accountId));
  await db().account.updateMany({ where: { id: accountId, dpTokenEnc: null }, data: { dpTokenEnc: encryptSecret(newToken(), context(accountId)) } });
  const stored = await db().account.findUniqueOrThrow({ where: { id: accountId }, select: { dpTokenEnc: true } });
  return decryptSecret(stored.dpTokenEnc!, context(accountId));
}

/** A new token for the account; the old one stops working at once. */
export async function rotateDigitalPipelineToken(accountId: string): Promise<string> {
  const token = newToken();
  await db().account.update({ where: { id: accountId }, data: { dpTokenEnc: encryptSecret(token, context(accountId)) } });
  return token;
}

/** Constant-time comparison of a presented token with the stored envelope (false when none is stored). */
export function tokenMatches(accountId: string, envelope: string | null, presented: string | null): boolean {
  if (!envelope || !presented) return false;
  let expected: string;
  try {
    expected = decryptSecret(envelope, context(accountId));
  } catch {
    return false;
  }
  // Hash both sides: equal lengths for timingSafeEqual, and no length leak.
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(expected), digest(presented));
}
