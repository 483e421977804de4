// A Kommo contact changed (update_contact webhook): its opt-in box is read as Kommo has it now
// and acted on (opt-in.ts); with the status field on, the profile's consent is read from Klaviyo
// too. One job per contact (queue `consent-contact`, singletonKey), enqueued with the webhook's
// record, so a redelivered webhook (recorded once) enqueues nothing.
import type PgBoss from "pg-boss";
import { z } from "zod";
import { db, numberIds } from "@/lib/db/client";
import { defineJob } from "@/lib/jobs/define-job";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { kommoIdSchema } from "@/lib/integrations/kommo/ids";
import { contactEmails } from "@/lib/integrations/kommo/fields";
import { loadSettings } from "@/lib/features/settings/account-settings";
import { observeOptInBox } from "./opt-in";
import { recordStatus } from "./record-status";
import { statusOfConsent } from "./status";

export const consentContactJob = defineJob({
  name: "consent-contact",
  payload: z.object({ accountId: z.uuid(), contactId: kommoIdSchema }),
  queue: { policy: "short", retryLimit: 10, retryDelay: 5, retryBackoff: true },
  run: (payload) => checkContactConsent(payload.accountId, payload.contactId),
});

/** Enqueue a check per contact; with `inTransaction` the jobs commit with the caller's writes. */
export async function enqueueContactConsentChecks(accountId: string, contactIds: Iterable<number>, inTransaction?: PgBoss.Db): Promise<void> {
  const jobs = [...new Set(contactIds)].map((contactId) => ({ payload: { accountId, contactId }, singletonKey: `${accountId}:${contactId}` }));
  if (jobs.length > 0) await consentContactJob.sendMany(jobs, { db: inTransaction });
}

export async function checkContactConsent(accountId: string, contactId: number): Promise<void> {
  const row = await db().account.findUnique({ where: { id: accountId } });
  const account = row && numberIds(row);
  if (!account || account.status !== "installed" || account.paused || !account.klaviyoApiKeyEnc) return;
  const { consent } = await loadSettings(account);
  if (!consent.statusField && consent.optInFieldId === null) return;
  const kommo = await kommoClientFor(accountId);
  const contact = await kommo.getContact(contactId);
  if (!contact || contact.is_deleted) return;
  const klaviyo = klaviyoClientFor(account);
  const outcome = await observeOptInBox(account, consent, contact, () => klaviyo);
  const email = contactEmails(contact)[0]?.toLowerCase();
  // Right after our own (asynchronous) subscribe or unsubscribe the profile still shows the old state.
  if (!consent.statusField || !email || outcome !== "none") return;
  const profile = await klaviyo.getEmailConsent(email);
  if (!profile) return;
  await recordStatus(accountId, consent, {
    contactIds: [contactId],
    email,
    status: statusOfConsent(profile),
    canReceiveEmail: profile.canReceiveEmail,
    at: new Date(),
    source: "profile",
  });
}
