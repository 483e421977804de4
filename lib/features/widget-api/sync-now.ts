// "Sync now" in the deal card: a manual change recorded for the lead and its sync job enqueued, in
// one transaction (as the webhook intake does), so that a press is either fully queued or not at
// all. The sync job treats a `sync_now` change as a forced re-send of the deal as it is in Kommo.
import { randomUUID } from "node:crypto";
import type { Account } from "@/lib/db/client";
import { OutcomeError } from "@/lib/outcomes";
import { enqueueLeadSyncs } from "@/lib/features/sync/lead-jobs";
import { inTransaction } from "@/lib/db/sql-pool";
import { insertInboundEvents } from "@/lib/db/inbound-events";

/** A press that cannot lead to a sync; answered as 409 with words the widget can show. */
export class SyncNowRefusedError extends OutcomeError {
  constructor(code: "klaviyo_not_connected" | "kommo_reauth_required" | "sync_paused", message: string) {
    super(code, message, { httpStatus: 409 });
  }
}

function refusal(account: Account): SyncNowRefusedError | null {
  if (account.status === "needs_reauth") {
    return new SyncNowRefusedError(
      "kommo_reauth_required",
      account.statusReason ?? "Kommo access for this integration has to be granted again by an account administrator",
    );
  }
  if (!account.klaviyoApiKeyEnc) {
    return new SyncNowRefusedError("klaviyo_not_connected", "no Klaviyo private key is set: an administrator enters one in the widget settings");
  }
  if (account.paused) return new SyncNowRefusedError("sync_paused", "syncing is paused for this account");
  return null;
}

export async function requestSyncNow(account: Account, leadId: number): Promise<{ eventId: string }> {
  const refused = refusal(account);
  if (refused) throw refused;
  return inTransaction(async (client, asBossDb) => {
    // Every press is its own change: two presses are two re-sends, never one swallowed by the other.
    const [event] = await insertInboundEvents(client, account.id, "manual", [
      { kind: "sync_now", leadId, contactId: null, changedAt: null, payload: {}, dedupeKey: `sync_now:${leadId}:${randomUUID()}` },
    ]);
    await enqueueLeadSyncs(account.id, [leadId], asBossDb);
    return { eventId: event!.id };
  });
}
