// GET /api/kommo/revoke: Kommo's "access revoked" hook (integration disabled or uninstalled).
// Kommo signs it: signature = hex(HMAC-SHA256(client_secret, "<client_id>|<account_id>")).
//
// The signature has no nonce or time and travels in a URL (proxy and access logs), so a hook seen
// once stays valid forever: replayed after a reinstall, it would wipe the new install. The hook is
// therefore only a prompt: the account is disconnected once Kommo itself confirms the access is gone
// (the refresh token is refused, or the API answers 401). While Kommo still accepts our tokens the
// hook is ignored and logged.
import { removeKlaviyoWebhook } from "@/lib/features/activity/webhook-registration";
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { kommoIdTextSchema } from "@/lib/integrations/kommo/ids";
import { db } from "@/lib/db/client";
import { requireKommoCredentials } from "@/lib/platform/env";
import { jsonError } from "@/lib/platform/http/errors";
import { logger } from "@/lib/platform/log";
import { dropWaitingJobsOfAccount } from "@/lib/jobs/queue-state";
import { syncLeadJob } from "@/lib/features/sync/sync-lead";
import { answeringErrors } from "@/lib/platform/http/answering-errors";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { KommoAccountUnavailableError, KommoApiError } from "@/lib/integrations/kommo/errors";
import { accessTokenFor, renewAccessToken } from "@/lib/integrations/kommo/tokens";

const revokeQuerySchema = z.object({
  client_uuid: z.string().min(1).max(100),
  // Kept as text: the signature covers the value as Kommo sent it.
  account_id: z.string().refine((value) => kommoIdTextSchema.safeParse(value).success, "must be a Kommo account id"),
  signature: z.string().regex(/^[0-9a-fA-F]{64}$/),
});

export type RevokeCredentials = { clientId: string; clientSecret: string };

export function revokeSignature(credentials: RevokeCredentials, accountId: string): string {
  return createHmac("sha256", credentials.clientSecret).update(`${credentials.clientId}|${accountId}`).digest("hex");
}

/** True when Kommo (who alone knows our secret) signed this account id for our integration. */
export function verifyRevokeSignature(
  credentials: RevokeCredentials,
  query: { clientUuid: string; accountId: string; signature: string },
): boolean {
  const expected = Buffer.from(revokeSignature(credentials, query.accountId), "hex");
  const given = Buffer.from(query.signature, "hex");
  const signatureOk = given.length === expected.length && timingSafeEqual(given, expected);
  return signatureOk && query.clientUuid === credentials.clientId;
}

export const REVOKED_REASON =
  "Access was revoked in Kommo (the integration was disabled or uninstalled). Tokens and the Klaviyo key were deleted; install the integration again to resume syncing.";

/**
 * Disconnect the account: no tokens, no Klaviyo key, no queued syncs. One transaction, and the row
 * lock a token refresh takes (tokens.ts) orders the two, so no refresh can bring tokens back.
 * Returns false when we never had this account.
 */
export async function disconnectAccount(kommoAccountId: number): Promise<boolean> {
  // The Klaviyo system webhook goes first, while we still hold the key it was registered with.
  const registered = await db().account.findUnique({ where: { kommoAccountId }, select: { id: true, klaviyoApiKeyEnc: true, klaviyoWebhookId: true } });
  if (registered) await removeKlaviyoWebhook(registered);
  return db().$transaction(async (tx) => {
    // Raw SQL: a row lock (FOR UPDATE), which Prisma cannot take.
    const rows = await tx.$queryRaw<{ id: string }[]>`SELECT "id" FROM "Account" WHERE "kommoAccountId" = ${kommoAccountId} FOR UPDATE`;
    const accountId = rows[0]?.id;
    if (!accountId) return false;
    await tx.account.update({
      where: { id: accountId },
      data: {
        status: "disconnected",
        statusReason: REVOKED_REASON,
        disconnectedAt: new Date(),
        accessTokenEnc: null,
        refreshTokenEnc: null,
        accessTokenExpiresAt: null,
        klaviyoApiKeyEnc: null,
        klaviyoKeyHint: null,
        klaviyoAccountId: null,
        klaviyoAccountName: null,
        klaviyoWebhookId: null,
        // The Digital Pipeline token too: after a reinstall the actions are opened and saved again.
        dpTokenEnc: null,
      },
    });
    // Its waiting deal syncs go (running ones stop at their next Kommo call).
    await dropWaitingJobsOfAccount(syncLeadJob.name, accountId, tx);
    return true;
  });
}

/**
 * What Kommo says about our access to the account: "revoked" (refresh refused or 401),
 * "accepted" (a fresh token pair works), or "no_access" (we hold no usable tokens, so there is
 * nothing to ask with and nothing a replay could take away but the Klaviyo key) or "unknown"
 * (no such account). Other failures (Kommo down, rate limit) throw: nothing was learned.
 */
export async function kommoAccessState(kommoAccountId: number): Promise<"revoked" | "accepted" | "no_access" | "unknown"> {
  const row = await db().account.findUnique({
    where: { kommoAccountId },
    select: { id: true, status: true, accessTokenEnc: true, refreshTokenEnc: true },
  });
  if (!row) return "unknown";
  if (row.status === "disconnected" || row.status === "needs_reauth" || !row.accessTokenEnc || !row.refreshTokenEnc) return "no_access";
  try {
    // A refresh first: Kommo retires the refresh token with the grant, and an access token (a JWT)
    // might still be honoured for a while. Passing the current token forces the refresh.
    await renewAccessToken(row.id, await accessTokenFor(row.id));
    await (await kommoClientFor(row.id)).getAccount();
    return "accepted";
  } catch (error) {
    // The refresh was refused (tokens.ts has already marked the account and dropped the pair).
    if (error instanceof KommoAccountUnavailableError && error.code === "kommo_reauth_required") return "revoked";
    if (error instanceof KommoAccountUnavailableError && error.code === "kommo_disconnected") return "no_access";
    // A retryable 401 is Kommo's refusal not yet confirmed (tokens.ts confirmAccess): nothing learned.
    if (error instanceof KommoApiError && error.status === 401 && !error.retryable) return "revoked";
    throw error;
  }
}

export const handleRevoke = answeringErrors("kommo-revoke", async (request: Request): Promise<Response> => {
  const parsed = revokeQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) return jsonError(401, "invalid_signature", "client_uuid, account_id and a hex signature are required");
  const query = parsed.data;
  if (!verifyRevokeSignature(requireKommoCredentials(), { clientUuid: query.client_uuid, accountId: query.account_id, signature: query.signature })) {
    logger().warn({ kommoAccountId: query.account_id }, "revoke hook with a bad signature ignored");
    return jsonError(401, "invalid_signature", "The signature does not match");
  }
  const state = await kommoAccessState(Number(query.account_id));
  if (state === "accepted") {
    logger().warn(
      { kommoAccountId: query.account_id },
      "revoke hook ignored: Kommo still accepts this account's tokens (a replayed hook, or one sent before the access was revoked)",
    );
    return jsonError(409, "revoke_not_confirmed", "Kommo still grants this integration access to the account; nothing was changed");
  }
  const known = await disconnectAccount(Number(query.account_id));
  logger().info({ kommoAccountId: query.account_id, known }, "Kommo access revoked: account disconnected");
  // Known or not, the result is the same for Kommo: we hold no access to that account now.
  return Response.json({ status: "disconnected" });
});
