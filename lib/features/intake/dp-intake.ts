// POST /api/kommo/dp: Kommo's Digital Pipeline widget hooks ("Send to Klaviyo" on a stage). Kommo
// signs nothing here, so the account comes from the body's `account_id` and is authenticated by
// the account's DP token, which the widget wrote into the action's hidden `kss_token` setting.
// Like the CRM webhooks this only authenticates, records and enqueues: the action's row and its
// job are written in one transaction, and a redelivery (same lead, stage, time and event name)
// hits the unique (accountId, dedupeKey), inserts nothing and therefore enqueues nothing.
import { createHash } from "node:crypto";
import { jsonError } from "@/lib/platform/http/errors";
import { logger } from "@/lib/platform/log";
import { answeringErrors } from "@/lib/platform/http/answering-errors";
import { inTransaction, sqlPool } from "@/lib/db/sql-pool";
import { hookEncodingOf, parseDigitalPipelineBody, type DigitalPipelineHook } from "@/lib/integrations/kommo/dp-payload";
import { digitalPipelineJob } from "@/lib/features/digital-pipeline/action-job";
import { tokenMatches } from "@/lib/features/digital-pipeline/token";
import { klaviyoListId } from "@/lib/features/settings/settings";

/** A real hook is well under a kilobyte. */
const MAX_BODY_BYTES = 64_000;
const MAX_EVENT_NAME = 127;

type HookAccount = { id: string; status: "installed" | "needs_reauth" | "disconnected"; paused: boolean; dpTokenEnc: string | null };

const INSERT_ACTION = `
  INSERT INTO "DigitalPipelineAction" ("id", "accountId", "leadId", "statusId", "pipelineId", "eventType", "eventTime", "eventName", "listId", "dedupeKey", "receivedAt")
  VALUES (gen_random_uuid(), $1::uuid, $2, $3, $4, $5, to_timestamp($6), $7, $8, $9, now())
  ON CONFLICT ("accountId", "dedupeKey") DO NOTHING
  RETURNING "id"`;

/** (lead, status, event.time, event name): the same fields as the event's unique_id. */
export function dpDedupeKey(hook: DigitalPipelineHook, eventName: string): string {
  return createHash("sha256").update(JSON.stringify(["dp", hook.leadId, hook.statusId, hook.time, eventName])).digest("hex");
}

export async function recordDigitalPipelineHook(
  accountId: string,
  hook: DigitalPipelineHook,
  action: { eventName: string; listId: string | null },
  enqueue: boolean,
): Promise<{ recorded: boolean }> {
  return inTransaction(async (client, asBossDb) => {
    const { rows } = await client.query<{ id: string }>(INSERT_ACTION, [
      accountId,
      hook.leadId,
      hook.statusId,
      hook.pipelineId,
      hook.type,
      hook.time,
      action.eventName,
      action.listId,
      dpDedupeKey(hook, action.eventName),
    ]);
    const row = rows[0];
    if (row && enqueue) await digitalPipelineJob.sendMany([{ payload: { accountId, leadId: hook.leadId, actionId: row.id } }], { db: asBossDb });
    return { recorded: Boolean(row) };
  });
}

const unauthorized = () => jsonError(401, "unauthorized", "The Digital Pipeline token is missing or wrong: open the action in Kommo and save it again");

export const handleDigitalPipelineHook = answeringErrors("kommo-dp", async (request: Request): Promise<Response> => {
  const encoding = hookEncodingOf(request.headers.get("content-type"));
  if (!encoding) return jsonError(415, "unsupported_media_type", "Expected an application/json or application/x-www-form-urlencoded body");
  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) return jsonError(413, "body_too_large", "The body is too large");
  const body = await request.text();
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) return jsonError(413, "body_too_large", "The body is too large");
  const parsed = parseDigitalPipelineBody(body, encoding);
  if (!parsed.ok) return jsonError(400, "malformed_body", `Not a Kommo Digital Pipeline hook (${parsed.message})`);
  const { hook } = parsed;

  const { rows } = await sqlPool().query<HookAccount>(
    `SELECT "id", "status", "paused", "dpTokenEnc" FROM "Account" WHERE "kommoAccountId" = $1`,
    [hook.kommoAccountId],
  );
  const account = rows[0];
  if (!account || account.status === "disconnected") return jsonError(404, "account_not_found", "Klaviyo Sync is not installed in this Kommo account");
  // Checked for every type, acting or not: an unauthenticated caller learns nothing more than 401.
  if (!tokenMatches(account.id, account.dpTokenEnc, hook.settings.token)) {
    logger().warn({ accountId: account.id, leadId: hook.leadId }, "Digital Pipeline hook with a wrong or missing token rejected");
    return unauthorized();
  }
  if (!hook.acts) return Response.json({ received: true, ignored: `event type ${hook.type} does not send to Klaviyo` });

  const eventName = hook.settings.eventName;
  if (!eventName) return jsonError(400, "malformed_body", "The action has no event name: open it in Kommo and enter one");
  if (eventName.length > MAX_EVENT_NAME) return jsonError(400, "malformed_body", "The event name must be shorter than 128 characters");
  let listId: string | null = null;
  if (hook.settings.listId) {
    const list = klaviyoListId.safeParse(hook.settings.listId);
    if (!list.success) return jsonError(400, "malformed_body", "The action's list is not a Klaviyo list id");
    listId = list.data;
  }

  // Paused or awaiting re-authorization: kept, not enqueued (as the CRM webhooks do).
  const enqueue = account.status === "installed" && !account.paused;
  await recordDigitalPipelineHook(account.id, hook, { eventName, listId }, enqueue);
  return Response.json({ received: true });
});
