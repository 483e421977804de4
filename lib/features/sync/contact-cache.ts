// The deal's main contact, from our cache when we can trust it, else from Kommo (then cached).
// A stage change is the common sync, and the contact rarely changes with it: Kommo reports contact
// edits with update_contact webhooks, which make the next sync read the contact again. A dropped
// webhook leaves the cache behind Kommo for at most CONTACT_CACHE_TTL_MS.
import { z } from "zod";
import { db } from "@/lib/db/client";
import { cachedContactSnapshot } from "@/lib/db/contact-cache";
import type { KommoContact } from "@/lib/integrations/kommo/api-schemas";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import { contactEmails, contactPhones } from "@/lib/integrations/kommo/fields";
import type { DealSnapshot } from "./mapping";

export const CONTACT_CACHE_TTL_MS = 60 * 60_000;

export type ContactSnapshot = NonNullable<DealSnapshot["mainContact"]>;

const cachedSnapshot = z.object({
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  emails: z.array(z.string()),
  phones: z.array(z.string()),
});

/** A Kommo contact as the mapping needs it (and as it is cached). */
export function contactSnapshotOf(contact: KommoContact): ContactSnapshot {
  return { id: contact.id, firstName: contact.first_name ?? null, lastName: contact.last_name ?? null, emails: contactEmails(contact), phones: contactPhones(contact) };
}

export type ContactRead = {
  snapshot: ContactSnapshot;
  /** The contact as Kommo answered, when it was read from Kommo (null when it came from the cache). */
  fromKommo: KommoContact | null;
};

/**
 * The contact as the mapping needs it. `fresh`: read it from Kommo whatever the cache holds (the
 * sync carries a contact change, or a person asked for "Sync now").
 */
export async function readContact(accountId: string, kommo: KommoClient, contactId: number, fresh: boolean): Promise<ContactRead | null> {
  if (!fresh) {
    const cached = await cachedContactSnapshot(accountId, contactId, CONTACT_CACHE_TTL_MS);
    const parsed = cached === undefined ? null : cachedSnapshot.safeParse(cached);
    if (parsed?.success) return { snapshot: { id: contactId, ...parsed.data }, fromKommo: null };
  }
  const contact = await kommo.getContact(contactId);
  if (!contact) {
    await db().kommoContactCache.deleteMany({ where: { accountId, contactId } });
    return null;
  }
  const { id: _id, ...snapshot } = contactSnapshotOf(contact);
  await db().kommoContactCache.upsert({
    where: { accountId_contactId: { accountId, contactId } },
    create: { accountId, contactId, snapshot, readAt: new Date() },
    update: { snapshot, readAt: new Date() },
  });
  return { snapshot: { id: contactId, ...snapshot }, fromKommo: contact };
}

/** Entries too old to be used: removed by the daily retention job. */
export function pruneContactCache(now = new Date()): Promise<{ count: number }> {
  return db().kommoContactCache.deleteMany({ where: { readAt: { lt: new Date(now.getTime() - CONTACT_CACHE_TTL_MS) } } });
}
