// Reading Kommo's custom fields: a contact's e-mails and phones are `multitext` fields with the
// codes EMAIL and PHONE, each value tagged with an enum code (WORK, PRIV, MOB, ...).
import type { KommoContact, KommoCustomFieldValue, KommoLead } from "./api-schemas";

export function multitextValues(fields: KommoCustomFieldValue[], fieldCode: "EMAIL" | "PHONE"): string[] {
  return fields
    .filter((field) => field.field_code === fieldCode)
    .flatMap((field) => field.values.map((entry) => (entry.value === null || entry.value === undefined ? "" : String(entry.value).trim())))
    .filter((value) => value !== "");
}

/** Every e-mail of the contact, in Kommo's order (the first is the one to use). */
export const contactEmails = (contact: KommoContact) => multitextValues(contact.custom_fields_values, "EMAIL");

/** Every phone of the contact, as typed in Kommo (not normalised). */
export const contactPhones = (contact: KommoContact) => multitextValues(contact.custom_fields_values, "PHONE");

/** The lead's main contact id (`is_main`), or its first contact, or null. */
export function mainContactId(lead: KommoLead): number | null {
  const contacts = lead._embedded?.contacts ?? [];
  return (contacts.find((contact) => contact.is_main) ?? contacts[0])?.id ?? null;
}

/** Kommo's system stages, the same ids in every pipeline. */
export const WON_STATUS_ID = 142;
export const LOST_STATUS_ID = 143;
