// The contact's opt-in checkbox, Kommo -> Klaviyo. Only a change acts: off -> on (or on when the
// product first sees the contact) subscribes the email once, on -> off by a person unsubscribes it
// once. The change is claimed in the database before Klaviyo is called, so a redelivered webhook, a
// second job or a backfill that sees the same box finds nothing left to do.
import { db, type Account } from "@/lib/db/client";
import { recordSyncAttempt } from "@/lib/db/sync-log";
import type { KlaviyoClient } from "@/lib/integrations/klaviyo";
import type { KommoContact } from "@/lib/integrations/kommo/api-schemas";
import { contactEmails } from "@/lib/integrations/kommo/fields";
import type { ConsentSettings } from "@/lib/features/settings/settings";

/** How consent given in Kommo shows on the Klaviyo profile's consent record. */
export const CUSTOM_SOURCE = "Kommo CRM";

export type OptInOutcome = "subscribed" | "unsubscribed" | "none";

/** The box's value on the contact: Kommo sends checkbox values as true/false (webhooks as "1"/"0"). */
export function optInBoxValue(contact: Pick<KommoContact, "custom_fields_values">, fieldId: number): boolean {
  const field = contact.custom_fields_values.find((entry) => entry.field_id === fieldId);
  const value = field?.values[0]?.value;
  return value === true || value === 1 || value === "1" || value === "true";
}

/** Claim a change of the box: true when this caller moved the state and must act on it. */
async function claim(accountId: string, contactId: number, email: string | null, from: "not_on" | "on", to: boolean): Promise<boolean> {
  await db().consentContact.upsert({
    where: { accountId_contactId: { accountId, contactId } },
    create: { accountId, contactId, email },
    update: {},
  });
  const { count } = await db().consentContact.updateMany({
    where: { accountId, contactId, optInOffPending: false, ...(from === "on" ? { optInOn: true } : { OR: [{ optInOn: false }, { optInOn: null }] }) },
    data: { optInOn: to, email, ...(to ? { subscribedAt: new Date() } : { unsubscribedAt: new Date() }) },
  });
  return count === 1;
}

/** The deal the sync log shows the consent change on: the contact's most recent one (0 when none). */
async function leadOfContact(accountId: string, contactId: number): Promise<number> {
  const deal = await db().deal.findFirst({ where: { accountId, mainContactId: contactId, deletedAt: null }, orderBy: { updatedAt: "desc" }, select: { leadId: true } });
  return deal ? Number(deal.leadId) : 0;
}

async function logChange(account: Pick<Account, "id">, contact: KommoContact, kind: "subscribe" | "unsubscribe", target: string, startedAt: Date, klaviyoCalls: number) {
  await recordSyncAttempt({
    accountId: account.id,
    leadId: await leadOfContact(account.id, contact.id),
    trigger: kind === "subscribe" ? "consent_opt_in" : "consent_opt_out",
    status: "ok",
    // Who and when as Kommo reports the contact's change.
    operations: [
      {
        type: kind === "subscribe" ? "subscribeEmail" : "unsubscribeEmail",
        target,
        contactId: contact.id,
        changedBy: contact.updated_by ?? null,
        changedAt: contact.updated_at ? new Date(contact.updated_at * 1000).toISOString() : null,
      },
    ],
    error: null,
    errorCode: null,
    attempt: 1,
    jobId: null,
    kommoCalls: 0,
    klaviyoCalls,
    startedAt,
    finishedAt: new Date(),
  });
}

/**
 * Act on the box as Kommo has it now. The box the product turned off itself (an opt-out Klaviyo
 * reported) is not read as a person's change: the state already says off, and an "on" read before
 * the product's write lands is stale and ignored (optInOffPending).
 */
export async function observeOptInBox(account: Pick<Account, "id">, consent: ConsentSettings, contact: KommoContact, klaviyo: () => KlaviyoClient): Promise<OptInOutcome> {
  if (consent.optInFieldId === null) return "none";
  const email = contactEmails(contact)[0]?.toLowerCase() ?? null;
  const on = optInBoxValue(contact, consent.optInFieldId);
  const startedAt = new Date();
  if (on) {
    if (!email || !(await claim(account.id, contact.id, email, "not_on", true))) return "none";
    const client = klaviyo();
    try {
      await client.subscribeEmail(email, { listId: consent.optInListId, customSource: CUSTOM_SOURCE });
    } catch (error) {
      // Not done: the claim is given back so that the job's retry subscribes.
      await db().consentContact.updateMany({ where: { accountId: account.id, contactId: contact.id }, data: { optInOn: false, subscribedAt: null } });
      throw error;
    }
    await logChange(account, contact, "subscribe", consent.optInListId ? `${email} (list ${consent.optInListId})` : email, startedAt, client.calls);
    return "subscribed";
  }
  if (!(await claim(account.id, contact.id, email, "on", false))) {
    // First sight of a box that is off: remember it, nothing to send.
    await db().consentContact.updateMany({ where: { accountId: account.id, contactId: contact.id, optInOn: null }, data: { optInOn: false } });
    return "none";
  }
  if (!email) return "none";
  const client = klaviyo();
  try {
    await client.unsubscribeEmail(email);
  } catch (error) {
    await db().consentContact.updateMany({ where: { accountId: account.id, contactId: contact.id }, data: { optInOn: true, unsubscribedAt: null } });
    throw error;
  }
  await logChange(account, contact, "unsubscribe", email, startedAt, client.calls);
  return "unsubscribed";
}
