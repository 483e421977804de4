// GET /api/kommo/revoke: Kommo's "access revoked" hook (integration disabled or uninstalled).
// Kommo signs it: signature = hex(HMAC-SHA256(client_secret, "<client_id>|<account_id>")).
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { db } from "@/lib/db/client";
import { requireKommoCredentials } from "@/lib/platform/env";
import { jsonError } from "@/lib/platform/http/errors";
import { logger } from "@/lib/platform/log";
import { dropQueuedLeadSyncs } from "@/lib/features/sync/lead-jobs";
import { answeringErrors } from "@/lib/platform/http/answering-errors";

const revokeQuerySchema = z.object({
  client_uuid: z.string().min(1).max(100),
  account_id: z.string().regex(/^\d{1,12}$/),
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
  return db().$transaction(async (tx) => {
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
        // The Digital Pipeline token too: after a reinstall the actions are opened and saved again.
        dpTokenEnc: null,
      },
    });
    await dropQueuedLeadSyncs(accountId, tx);
    return true;
  });
}

export const handleRevoke = answeringErrors("kommo-revoke", async (request: Request): Promise<Response> => {
  const parsed = revokeQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) return jsonError(401, "invalid_signature", "client_uuid, account_id and a hex signature are required");
  const query = parsed.data;
  if (!verifyRevokeSignature(requireKommoCredentials(), { clientUuid: query.client_uuid, accountId: query.account_id, signature: query.signature })) {
    logger().warn({ kommoAccountId: query.account_id }, "revoke hook with a bad signature ignored");
    return jsonError(401, "invalid_signature", "The signature does not match");
  }
  const known = await disconnectAccount(Number(query.account_id));
  logger().info({ kommoAccountId: query.account_id, known }, "Kommo access revoked: account disconnected");
  // Known or not, the result is the same for Kommo: we hold no access to that account now.
  return Response.json({ status: "disconnected" });
});
