// The contact field "Klaviyo email status" (code KLAVIYO_EMAIL_STATUS, select, editable through the
// API only): found by its code when it exists, created once when it does not (again if an admin
// deleted it), its enum ids kept so that writes name values by id.
import { db, numberIds } from "@/lib/db/client";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import type { KommoCustomField } from "@/lib/integrations/kommo/api-schemas";
import { CONSENT_STATUSES, STATUS_LABELS, fieldLanguage, type ConsentStatus } from "./status";

export const STATUS_FIELD_CODE = "KLAVIYO_EMAIL_STATUS";
export const STATUS_FIELD_NAME = "Klaviyo email status";

export type StatusField = { fieldId: number; enumIds: Partial<Record<ConsentStatus, number>> };

/** The status an enum value names, in whichever of our languages it was created. */
function statusOfLabel(label: string): ConsentStatus | null {
  for (const labels of Object.values(STATUS_LABELS)) {
    const match = CONSENT_STATUSES.find((status) => labels[status].toLowerCase() === label.trim().toLowerCase());
    if (match) return match;
  }
  return null;
}

function fromKommo(field: KommoCustomField): StatusField {
  const enumIds: StatusField["enumIds"] = {};
  for (const entry of field.enums ?? []) {
    const status = statusOfLabel(entry.value);
    if (status) enumIds[status] = entry.id;
  }
  return { fieldId: field.id, enumIds };
}

/** The language of the account's admin (the token's user), for the value names. */
async function accountLanguage(kommo: KommoClient): Promise<string | null> {
  const [account, users] = await Promise.all([kommo.getAccount(), kommo.getUsers().catch(() => [])]);
  return users.find((user) => user.id === account.current_user_id)?.lang ?? users[0]?.lang ?? null;
}

/**
 * The field, from what we stored unless `lookUpAgain` (Kommo refused a write: the field may be gone
 * or its values changed). Finding it by code first means two workers, or a reinstall, never make a
 * second one.
 */
export async function ensureStatusField(accountId: string, kommo: KommoClient, options: { lookUpAgain?: boolean } = {}): Promise<StatusField> {
  if (!options.lookUpAgain) {
    const stored = await db().consentStatusField.findUnique({ where: { accountId } });
    if (stored) return { fieldId: numberIds(stored).fieldId, enumIds: stored.enumIds as StatusField["enumIds"] };
  }
  const existing = (await kommo.getContactCustomFields()).find((field) => field.code === STATUS_FIELD_CODE);
  let field: StatusField;
  if (existing) {
    field = fromKommo(existing);
  } else {
    const labels = STATUS_LABELS[fieldLanguage(await accountLanguage(kommo))];
    const [created] = await kommo.createContactCustomFields([
      {
        name: STATUS_FIELD_NAME,
        type: "select",
        code: STATUS_FIELD_CODE,
        is_api_only: true,
        enums: CONSENT_STATUSES.map((status, index) => ({ value: labels[status], sort: (index + 1) * 10 })),
      },
    ]);
    if (!created) throw new Error("Kommo answered the creation of the Klaviyo email status field without the field");
    field = fromKommo(created);
  }
  await db().consentStatusField.upsert({
    where: { accountId },
    create: { accountId, fieldId: field.fieldId, enumIds: field.enumIds },
    update: { fieldId: field.fieldId, enumIds: field.enumIds },
  });
  return field;
}
