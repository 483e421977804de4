// Writing consent back to Kommo contacts (queue `consent-write`, one job per account): the
// "Klaviyo email status" values that changed and the opt-in boxes the product turned off, 50
// contacts per PATCH /api/v4/contacts, paced by the account's Kommo budget (the client's limiter).
// Only rows whose wanted value differs from the written one are sent, so nothing is written twice.
import { z } from "zod";
import { db } from "@/lib/db/client";
import { pendingConsentWrites, type PendingConsentWrite } from "@/lib/db/consent-contacts";
import { defineJob, type JobContext } from "@/lib/jobs/define-job";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import type { ContactUpdate, KommoClient } from "@/lib/integrations/kommo/client";
import { KommoApiError } from "@/lib/integrations/kommo/errors";
import { outcomeOf } from "@/lib/outcomes";
import { loadSettings } from "@/lib/features/settings/account-settings";
import { ensureStatusField, type StatusField } from "./status-field";
import { isConsentStatus } from "./status";

/** Rows read per round; a larger backlog continues in the next round of the same job. */
const ROUND = 500;

export const consentWriteJob = defineJob({
  name: "consent-write",
  payload: z.object({ accountId: z.uuid() }),
  queue: { policy: "short", retryLimit: 5, retryDelay: 30, retryBackoff: true },
  run: (payload, context) => runConsentWrite(payload.accountId, context),
});

/** Queue the account's consent write (a waiting one is not doubled: it writes whatever is pending). */
export async function enqueueConsentWrite(accountId: string): Promise<void> {
  await consentWriteJob.send({ accountId }, { singletonKey: accountId });
}

function updatesFor(rows: PendingConsentWrite[], field: StatusField | null, optInFieldId: number | null): ContactUpdate[] {
  return rows.flatMap((row) => {
    const values: ContactUpdate["custom_fields_values"] = [];
    const enumId = field && isConsentStatus(row.status) ? field.enumIds[row.status] : undefined;
    if (field && enumId !== undefined) values.push({ field_id: field.fieldId, values: [{ enum_id: enumId }] });
    if (row.optInOffPending && optInFieldId !== null) values.push({ field_id: optInFieldId, values: [{ value: false }] });
    return values.length > 0 ? [{ id: row.contactId, custom_fields_values: values }] : [];
  });
}

async function markWritten(rows: PendingConsentWrite[], error: string | null): Promise<void> {
  for (const row of rows) {
    // Only what was sent counts as written: a status that changed meanwhile stays pending.
    await db().consentContact.updateMany({
      where: { id: row.id, status: row.status },
      data: { statusWritten: row.status, writeError: error },
    });
    if (row.optInOffPending) await db().consentContact.update({ where: { id: row.id }, data: { optInOffPending: false } });
  }
}

export async function writeConsentToKommo(accountId: string, context?: Pick<JobContext, "log">): Promise<{ written: number; refused: number }> {
  const account = await db().account.findUnique({ where: { id: accountId } });
  if (!account || account.status !== "installed" || account.paused) return { written: 0, refused: 0 };
  const { consent } = await loadSettings(account);
  const result = { written: 0, refused: 0 };
  let kommo: KommoClient | null = null;
  for (;;) {
    const rows = await pendingConsentWrites(accountId, consent.statusField, ROUND);
    if (rows.length === 0) return result;
    kommo ??= await kommoClientFor(accountId);
    let field = consent.statusField ? await ensureStatusField(accountId, kommo) : null;
    for (let start = 0; start < rows.length; start += 50) {
      const batch = rows.slice(start, start + 50);
      try {
        await kommo.updateContacts(updatesFor(batch, field, consent.optInFieldId));
      } catch (error) {
        if (!(error instanceof KommoApiError) || error.status !== 400) throw error;
        // The field was deleted or its values changed: look it up once (re-created if gone), then retry once.
        try {
          field = consent.statusField ? await ensureStatusField(accountId, kommo, { lookUpAgain: true }) : null;
          await kommo.updateContacts(updatesFor(batch, field, consent.optInFieldId));
        } catch (retryError) {
          if (!(retryError instanceof KommoApiError) || retryError.status !== 400) throw retryError;
          // Never a loop of writes: the batch counts as done with its reason; a later change writes again.
          const reason = `${retryError.message}. ${outcomeOf("kommo_consent_field_refused").fix}`;
          await markWritten(batch, reason);
          result.refused += batch.length;
          context?.log.warn({ accountId, contacts: batch.length, reason }, "Kommo refused the consent fields");
          continue;
        }
      }
      await markWritten(batch, null);
      result.written += batch.length;
    }
  }
}

async function runConsentWrite(accountId: string, context: JobContext): Promise<void> {
  const result = await writeConsentToKommo(accountId, context);
  if (result.written + result.refused > 0) context.log.info({ accountId, ...result }, "consent written to Kommo");
}
