// Klaviyo -> Kommo from the email events the activity poller reads: Unsubscribed, Bounced Email
// and Marked Email as Spam update the status of the profile's Kommo contacts (and turn their
// opt-in box off). Other events cost nothing here.
import { db } from "@/lib/db/client";
import { loadSettings } from "@/lib/features/settings/account-settings";
import { recordStatus } from "./record-status";
import { canEmail, statusOfEmailEvent } from "./status";

export type EmailEventForConsent = { metric: string; profileId: string | null; datetime: string | null };

/** The Kommo contacts of Klaviyo profiles: through the contact's link and the deals synced to the profile. */
async function contactsOfProfiles(accountId: string, profileIds: string[]): Promise<Map<string, number[]>> {
  const [links, deals] = await Promise.all([
    db().klaviyoProfileLink.findMany({ where: { accountId, klaviyoProfileId: { in: profileIds } }, select: { klaviyoProfileId: true, contactId: true } }),
    db().deal.findMany({ where: { accountId, klaviyoProfileId: { in: profileIds }, mainContactId: { not: null } }, select: { klaviyoProfileId: true, mainContactId: true } }),
  ]);
  const contacts = new Map<string, number[]>();
  const add = (profileId: string | null, contactId: bigint | null) => {
    if (!profileId || contactId === null) return;
    contacts.set(profileId, [...new Set([...(contacts.get(profileId) ?? []), Number(contactId)])]);
  };
  for (const link of links) add(link.klaviyoProfileId, link.contactId);
  for (const deal of deals) add(deal.klaviyoProfileId, deal.mainContactId);
  return contacts;
}

export async function consentFromEmailEvents(accountId: string, events: EmailEventForConsent[]): Promise<void> {
  const relevant = events.filter((event) => event.profileId && event.datetime && statusOfEmailEvent(event.metric) !== null);
  if (relevant.length === 0) return;
  const account = await db().account.findUnique({ where: { id: accountId }, select: { id: true, settings: true } });
  if (!account) return;
  const { consent } = await loadSettings(account);
  const contacts = await contactsOfProfiles(accountId, [...new Set(relevant.map((event) => event.profileId!))]);
  // Oldest first, so that the newest report is the one that stays.
  relevant.sort((a, b) => Date.parse(a.datetime!) - Date.parse(b.datetime!));
  for (const event of relevant) {
    const contactIds = contacts.get(event.profileId!) ?? [];
    const status = statusOfEmailEvent(event.metric)!;
    if (contactIds.length === 0) continue;
    await recordStatus(accountId, consent, { contactIds, status, canReceiveEmail: canEmail(status), at: new Date(event.datetime!), source: "event" });
  }
}
