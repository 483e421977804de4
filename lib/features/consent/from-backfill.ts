// Consent for the contacts a historical import brings: their Klaviyo email status (with the status
// field on) read 100 profiles a call, and an opt-in box the product sees on for the first time
// acted on as consent given (opt-in.ts claims each change once, so a re-run sends nothing twice).
import type { Account } from "@/lib/db/client";
import type { KlaviyoClient } from "@/lib/integrations/klaviyo";
import type { KommoContact } from "@/lib/integrations/kommo/api-schemas";
import { contactEmails } from "@/lib/integrations/kommo/fields";
import type { ConsentSettings } from "@/lib/features/settings/settings";
import { observeOptInBox } from "./opt-in";
import { recordStatus } from "./record-status";
import { statusOfConsent } from "./status";

export async function consentOfImportedContacts(account: Pick<Account, "id">, consent: ConsentSettings, contacts: KommoContact[], klaviyo: KlaviyoClient): Promise<void> {
  if (!consent.statusField && consent.optInFieldId === null) return;
  const unique = [...new Map(contacts.map((contact) => [contact.id, contact])).values()];
  const subscribedNow = new Set<number>();
  for (const contact of unique) {
    if ((await observeOptInBox(account, consent, contact, () => klaviyo)) !== "none") subscribedNow.add(contact.id);
  }
  if (!consent.statusField) return;
  const emailOf = new Map(unique.map((contact) => [contact.id, contactEmails(contact)[0]?.toLowerCase() ?? null]));
  const consents = await klaviyo.getEmailConsents([...emailOf.values()].filter((email): email is string => email !== null));
  const at = new Date();
  for (const [contactId, email] of emailOf) {
    const profile = email ? consents.get(email) : undefined;
    // A subscribe just sent is not in the profile yet.
    if (!profile || subscribedNow.has(contactId)) continue;
    await recordStatus(account.id, consent, { contactIds: [contactId], email, status: statusOfConsent(profile), canReceiveEmail: profile.canReceiveEmail, at, source: "profile" });
  }
}
