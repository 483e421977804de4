// The few places where one feature's event starts another feature's work, written out in one
// file so that the features themselves never call each other sideways.
import { requestInitialBackfill, startWaitingBackfills } from "@/lib/features/backfill/runs";
import { enqueuePendingLeadSyncs } from "@/lib/features/sync/lead-jobs";
import { enqueuePendingDigitalPipelineActions } from "@/lib/features/digital-pipeline/pending";

/** An install (or re-install) finished. */
export async function afterInstall(accountId: string): Promise<void> {
  // Changes that arrived while the account needed re-authorization are synced now.
  await enqueuePendingLeadSyncs(accountId);
  await enqueuePendingDigitalPipelineActions(accountId);
  // The account's existing deals are imported once, as soon as Klaviyo is connected.
  await requestInitialBackfill(accountId);
}

/** A Klaviyo key was accepted and stored: what waited for Klaviyo goes now. */
export async function afterKlaviyoKeySaved(accountId: string, { firstKey }: { firstKey: boolean }): Promise<void> {
  // Changes recorded before the first key stopped for want of one.
  if (firstKey) {
    await enqueuePendingLeadSyncs(accountId);
    await enqueuePendingDigitalPipelineActions(accountId);
  }
  // The import of existing deals that the install queued.
  await startWaitingBackfills(accountId);
}
