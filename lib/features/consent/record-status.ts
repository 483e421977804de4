// Recording what Klaviyo reports about a contact's email consent: the status wanted on the contact
// (written by the consent-write job when it changed), and, when the person opted out or cannot be
// emailed, the opt-in box turned off by the product (so a later tick is a new, explicit consent).
import { db } from "@/lib/db/client";
import type { ConsentSettings } from "@/lib/features/settings/settings";
import { OPTED_OUT, canEmail, isConsentStatus, type ConsentStatus } from "./status";
import { enqueueConsentWrite } from "./write-job";

/**
 * A profile read says what is true now, but a subscribe job we just started may not show in it
 * yet: within this time after our opt-in, a read's opt-out does not turn the box off.
 */
export const SUBSCRIBE_SETTLE_MS = 10 * 60_000;

/** The start of the second `at` falls in, as Klaviyo stamps its events. */
const wholeSecond = (at: Date) => Math.floor(at.getTime() / 1000) * 1000;

export type StatusReport = {
  contactIds: number[];
  email?: string | null;
  status: ConsentStatus;
  canReceiveEmail: boolean;
  /** When Klaviyo recorded it (an event's time), or now for a profile read. */
  at: Date;
  source: "event" | "profile";
};

/**
 * Record the report for each contact; an older report than the one held changes nothing. It is kept
 * whatever the settings (the deal-card pane shows it); Kommo is written only for what is turned on.
 */
export async function recordStatus(accountId: string, consent: ConsentSettings, report: StatusReport): Promise<void> {
  let changed = false;
  for (const contactId of new Set(report.contactIds)) {
    const row = await db().consentContact.upsert({
      where: { accountId_contactId: { accountId, contactId } },
      create: { accountId, contactId, email: report.email ?? null },
      update: {},
    });
    if (row.statusAt && report.at <= row.statusAt && report.status === row.status) continue;
    // Klaviyo's event times have whole seconds: an event of the second of the report held (a profile
    // read at 12:00:00.700, an unsubscribe stamped 12:00:00) may have come after it, and an opt-out
    // must never be lost, so it counts as newer.
    if (row.statusAt && report.source === "event" && report.at.getTime() < wholeSecond(row.statusAt)) continue;
    // Likewise an event of the second we subscribed in counts as after it.
    const settledSince = row.subscribedAt ? report.at.getTime() - wholeSecond(row.subscribedAt) : Infinity;
    const optedOut =
      OPTED_OUT.has(report.status) &&
      consent.optInFieldId !== null &&
      row.optInOn === true &&
      (report.source === "event" ? settledSince >= 0 : settledSince > SUBSCRIBE_SETTLE_MS);
    await db().consentContact.update({
      where: { id: row.id },
      data: {
        status: report.status,
        statusAt: report.at,
        canReceiveEmail: report.canReceiveEmail,
        ...(report.email && { email: report.email }),
        // The box as the product leaves it; the webhook its write causes then sees no change.
        ...(optedOut && { optInOn: false, optInOffPending: true }),
      },
    });
    changed ||= optedOut || (consent.statusField && row.statusWritten !== report.status);
  }
  if (changed) await enqueueConsentWrite(accountId);
}

export type ContactConsent = { status: ConsentStatus; canReceiveEmail: boolean };

/** The contact's consent as Klaviyo last reported it; null when it never did. */
export async function contactConsent(accountId: string, contactId: number): Promise<ContactConsent | null> {
  const row = await db().consentContact.findUnique({ where: { accountId_contactId: { accountId, contactId } }, select: { status: true, canReceiveEmail: true } });
  if (!row || !isConsentStatus(row.status)) return null;
  return { status: row.status, canReceiveEmail: row.canReceiveEmail ?? canEmail(row.status) };
}
