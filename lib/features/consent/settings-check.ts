// The Consent section of the settings, checked before it is saved: the opt-in field must be a
// contact checkbox of the account, and the Klaviyo key must be allowed to change consent
// (subscriptions:write) for opt-in to be turned on. Turning the status field on creates the field.
import type { KlaviyoClient } from "@/lib/integrations/klaviyo";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import type { ConsentSettings } from "@/lib/features/settings/settings";
import { OutcomeError } from "@/lib/outcomes";
import { ensureStatusField } from "./status-field";

export class InvalidOptInFieldError extends OutcomeError {
  constructor(message: string) {
    super("invalid_opt_in_field", message);
  }
}

export class SubscriptionsScopeMissingError extends OutcomeError {
  constructor(keyHint: string) {
    super(
      "subscriptions_scope_missing",
      `the Klaviyo key ${keyHint} may not change consent (it lacks the scope subscriptions:write), so opt-in stays off. Give the key Full access to Subscriptions in Klaviyo (Settings, API keys), or paste a key that has it`,
    );
  }
}

/** Contact checkbox fields: what the panel offers for the opt-in box. */
export async function checkboxFields(kommo: KommoClient): Promise<{ id: number; name: string }[]> {
  const fields = await kommo.getContactCustomFields();
  return fields.filter((field) => field.type === "checkbox").map((field) => ({ id: field.id, name: field.name }));
}

/**
 * Check `next` against Kommo and Klaviyo where it differs from `current`. Throws (422) with the
 * reason; nothing is saved then.
 */
export async function checkConsentSettings(input: {
  accountId: string;
  current: ConsentSettings;
  next: ConsentSettings;
  keyChanged: boolean;
  kommo: () => Promise<KommoClient>;
  klaviyo: () => KlaviyoClient;
}): Promise<void> {
  const { current, next } = input;
  const optInChanged = next.optInFieldId !== null && next.optInFieldId !== current.optInFieldId;
  if (optInChanged) {
    const fields = await (await input.kommo()).getContactCustomFields();
    const field = fields.find((candidate) => candidate.id === next.optInFieldId);
    if (!field) throw new InvalidOptInFieldError(`there is no contact field with id ${next.optInFieldId} in this Kommo account; pick a contact checkbox field`);
    if (field.type !== "checkbox") {
      throw new InvalidOptInFieldError(`the contact field "${field.name}" is a ${field.type} field; the opt-in field must be a checkbox`);
    }
  }
  if (next.optInFieldId !== null && (optInChanged || input.keyChanged)) {
    const klaviyo = input.klaviyo();
    if (!(await klaviyo.canWriteSubscriptions())) throw new SubscriptionsScopeMissingError(klaviyo.keyHint);
  }
  if (next.statusField && !current.statusField) await ensureStatusField(input.accountId, await input.kommo());
}
