// A contact deleted in Kommo -> Klaviyo's data-privacy deletion of that person's profile, for
// accounts that switched `deleteProfileOnContactDelete` on. Kommo's events feed brings the
// deletions (recorded by reconciliation as `delete_contact` rows); each is carried out once.
//
// The profile is deleted by its Klaviyo id (an email could match profiles we never synced), and
// only when no other Kommo contact of the account uses it: two contacts with one email share a
// profile, and deleting one of them is not a request to erase the other.
import type { Account } from "@/lib/db/client";
import { db } from "@/lib/db/client";
import { forgetProfile } from "@/lib/db/deals";
import { markEventsProcessed, pendingContactDeletions } from "@/lib/db/inbound-events";
import { logger } from "@/lib/platform/log";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";

export async function deletePendingContacts(account: Pick<Account, "id" | "klaviyoApiKeyEnc">): Promise<number> {
  const pending = await pendingContactDeletions(account.id, 200);
  if (pending.length === 0) return 0;
  const klaviyo = klaviyoClientFor(account);
  let deleted = 0;
  for (const event of pending) {
    const { contactId } = event;
    const link = await db().klaviyoProfileLink.findUnique({ where: { accountId_contactId: { accountId: account.id, contactId } } });
    const shared = link
      ? await db().klaviyoProfileLink.count({ where: { accountId: account.id, klaviyoProfileId: link.klaviyoProfileId, contactId: { not: contactId } } })
      : 0;
    if (link && shared === 0) {
      // Klaviyo answers 202 and deletes asynchronously; a failure here leaves the row pending for the next run.
      await klaviyo.requestProfileDeletion({ profileId: link.klaviyoProfileId });
      deleted++;
    } else if (link) {
      logger().info({ accountId: account.id, contactId }, "Kommo contact deleted; its Klaviyo profile is kept because another contact uses it");
    }
    await db().$transaction(async (tx) => {
      if (link && shared === 0) {
        // What we kept about the person goes too: the activity cache and the contact's profile link.
        await tx.emailActivity.deleteMany({ where: { accountId: account.id, klaviyoProfileId: link.klaviyoProfileId } });
        await forgetProfile(account.id, link.klaviyoProfileId, tx);
      }
      if (link) await tx.klaviyoProfileLink.delete({ where: { id: link.id } });
      await markEventsProcessed([event.id], new Date(), tx);
    });
  }
  return deleted;
}
