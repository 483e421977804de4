// The few places where one feature's event starts another feature's work, written out in one
// file so that the features themselves never call each other sideways.
import { requestInitialBackfill, startWaitingBackfills } from "@/lib/features/backfill/runs";
import { enqueuePendingLeadSyncs } from "@/lib/features/sync/lead-jobs";
import { enqueuePendingDigitalPipelineActions } from "@/lib/features/digital-pipeline/pending";
import { enqueueActivityPoll } from "@/lib/features/activity/poll";
import { registerKlaviyoWebhook, removeKlaviyoWebhook } from "@/lib/features/activity/webhook-registration";
import { db, type Account } from "@/lib/db/client";

/** An install (or re-install) finished. */
export async function afterInstall(accountId: string): Promise<void> {
  // Changes that arrived while the account needed re-authorization are synced now.
  await enqueuePendingLeadSyncs(accountId);
  await enqueuePendingDigitalPipelineActions(accountId);
  // The account's existing deals are imported once, as soon as Klaviyo is connected.
  await requestInitialBackfill(accountId);
}

/** A Klaviyo key was accepted and stored: what waited for Klaviyo goes now. */
export async function afterKlaviyoKeySaved(
  accountId: string,
  { firstKey, previous }: { firstKey: boolean; previous?: Pick<Account, "id" | "klaviyoApiKeyEnc" | "klaviyoWebhookId"> },
): Promise<void> {
  // The old key's webhook goes (with the old key), the new key's is registered when it may be.
  if (previous) await removeKlaviyoWebhook(previous);
  const account = await db().account.findUniqueOrThrow({ where: { id: accountId }, select: { id: true, klaviyoApiKeyEnc: true } });
  await registerKlaviyoWebhook(account);
  // Email activity of the new key right away, beside the account's scheduled polls.
  await enqueueActivityPoll(accountId);
  // Changes recorded before the first key stopped for want of one.
  if (firstKey) {
    await enqueuePendingLeadSyncs(accountId);
    await enqueuePendingDigitalPipelineActions(accountId);
  }
  // The import of existing deals that the install queued.
  await startWaitingBackfills(accountId);
}
