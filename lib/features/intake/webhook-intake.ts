// POST /api/kommo/webhooks/{hookKey}: Kommo's CRM webhooks. Kommo waits 2 s and disables a hook
// after 100 bad answers, so this only authenticates, records and enqueues (two round trips plus one
// transaction); the sync itself happens in the sync-lead job.
//
// Crash safety: the InboundEvent rows and their sync-lead jobs are written in one transaction
// (pg-boss inserts through the same connection), so either both exist or neither does and Kommo's
// retry brings the delivery again. A retry of a delivery that was recorded hits the unique
// (accountId, dedupeKey), inserts nothing and therefore enqueues nothing.
import { jsonError } from "@/lib/platform/http/errors";
import { logger } from "@/lib/platform/log";
import { enqueueLeadSyncs } from "@/lib/features/sync/lead-jobs";
import { enqueueContactConsentChecks } from "@/lib/features/consent/contact-job";
import { answeringErrors } from "@/lib/platform/http/answering-errors";
import { inTransaction, sqlPool } from "@/lib/db/sql-pool";
import { insertInboundEvents, type NewInboundEvent } from "@/lib/db/inbound-events";
import { liveDealsOfContacts } from "@/lib/db/deals";
import { forgetCompanies } from "@/lib/db/company-cache";
import { parseWebhookBody, type ParsedDelivery } from "@/lib/integrations/kommo/webhook-payload";

const HOOK_KEY = /^[A-Za-z0-9_-]{20,128}$/;
/** Kommo's deliveries are a few kilobytes; this is generous and still bounded. */
const MAX_BODY_BYTES = 1_000_000;

type HookAccount = { id: string; kommoAccountId: number; status: "installed" | "needs_reauth" | "disconnected"; paused: boolean; consentOn: boolean };

/** Record the delivery's changes; enqueue a sync for every lead with a change new to us. */
export async function recordDelivery(accountId: string, delivery: ParsedDelivery, enqueue: boolean, consentOn = false): Promise<{ stored: number }> {
  return inTransaction(async (client, asBossDb) => {
    const leadsOfContact = new Map<number, number[]>();
    const deals = await liveDealsOfContacts(client, accountId, delivery.contacts.map((change) => change.contactId));
    for (const row of deals) leadsOfContact.set(row.mainContactId, [...(leadsOfContact.get(row.mainContactId) ?? []), row.leadId]);
    const events: NewInboundEvent[] = delivery.leads.map((change) => ({
      kind: change.kind,
      leadId: change.leadId,
      contactId: null,
      changedAt: change.changedAt?.toISOString() ?? null,
      payload: change.payload,
      dedupeKey: change.dedupeKey,
      processed: false,
    }));
    for (const change of delivery.contacts) {
      const base = { kind: change.kind, contactId: change.contactId, changedAt: change.changedAt?.toISOString() ?? null, payload: change.payload };
      const leadIds = leadsOfContact.get(change.contactId) ?? [];
      // A contact with no known deal: kept, as processed (there is nothing to sync for it).
      if (leadIds.length === 0) events.push({ ...base, leadId: null, dedupeKey: change.dedupeBase, processed: true });
      for (const leadId of leadIds) events.push({ ...base, leadId, dedupeKey: `${change.dedupeBase}:${leadId}`, processed: false });
    }
    await forgetCompanies(client, accountId, delivery.companies);
    if (events.length === 0) return { stored: 0 };

    const rows = await insertInboundEvents(client, accountId, "kommo_webhook", events);
    if (enqueue) {
      const newLeads = rows.map((row) => row.leadId).filter((leadId): leadId is number => leadId !== null);
      await enqueueLeadSyncs(accountId, newLeads, asBossDb);
      // With consent on, a contact change may be its opt-in box: checked once per new delivery.
      if (consentOn) {
        const newContacts = rows.map((row) => row.contactId).filter((contactId): contactId is number => contactId !== null);
        await enqueueContactConsentChecks(accountId, newContacts, asBossDb);
      }
    }
    return { stored: rows.length };
  });
}

export const handleCrmWebhook = answeringErrors("kommo-webhook", async (request: Request, hookKey: string): Promise<Response> => {
  if (!HOOK_KEY.test(hookKey)) return jsonError(404, "unknown_hook", "No webhook at this address");
  // Raw SQL on the small pool: the webhook's hot path, which the recording transaction uses as well.
  const { rows } = await sqlPool().query<HookAccount>(
    `SELECT "id", "kommoAccountId", "status", "paused",
            (COALESCE("settings"->'consent'->'statusField' = 'true'::jsonb, false)
              OR COALESCE(jsonb_typeof("settings"->'consent'->'optInFieldId') = 'number', false)) AS "consentOn"
     FROM "Account" WHERE "hookKey" = $1`,
    [hookKey],
  );
  const account = rows[0];
  if (!account) return jsonError(404, "unknown_hook", "No webhook at this address");

  const contentType = request.headers.get("content-type") ?? "";
  if (!contentType.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    return jsonError(415, "unsupported_media_type", "Expected an application/x-www-form-urlencoded body");
  }
  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) return jsonError(413, "body_too_large", "The body is too large");
  const body = await request.text();
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) return jsonError(413, "body_too_large", "The body is too large");

  const parsed = parseWebhookBody(body);
  if (!parsed.ok) return jsonError(400, "malformed_body", `Not a Kommo webhook body (${parsed.message})`);
  if (parsed.delivery.kommoAccountId !== account.kommoAccountId) {
    logger().warn({ accountId: account.id }, "CRM webhook for another account rejected");
    return jsonError(401, "account_mismatch", "This webhook address belongs to a different account");
  }

  // An error status would only make Kommo retry and finally disable the hook, so every account
  // state answers 200. Disconnected: nothing is kept, we hold no access. Paused or awaiting
  // re-authorization: the changes are kept but not enqueued; resuming or reinstalling enqueues the
  // leads with unprocessed changes (enqueuePendingLeadSyncs).
  if (account.status === "disconnected") return Response.json({ received: true });
  const enqueue = account.status === "installed" && !account.paused;
  await recordDelivery(account.id, parsed.delivery, enqueue, account.consentOn);
  return Response.json({ received: true });
});
