// The contact's email consent as one of six statuses, from what Klaviyo reports: a profile's
// `subscriptions.email.marketing`, or an Unsubscribed / Bounced Email / Marked Email as Spam event.
import type { KlaviyoEmailConsent } from "@/lib/integrations/klaviyo";

export const CONSENT_STATUSES = ["subscribed", "not_subscribed", "unsubscribed", "bounced", "spam_complaint", "suppressed"] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

export const isConsentStatus = (value: unknown): value is ConsentStatus => CONSENT_STATUSES.includes(value as ConsentStatus);

/** Statuses that mean the person opted out (or cannot be emailed): the opt-in box is turned off. */
export const OPTED_OUT: ReadonlySet<ConsentStatus> = new Set(["unsubscribed", "bounced", "spam_complaint", "suppressed"]);

const SUPPRESSION_STATUS: Record<string, ConsentStatus> = {
  UNSUBSCRIBE: "unsubscribed",
  HARD_BOUNCE: "bounced",
  INVALID_EMAIL: "bounced",
  SPAM_COMPLAINT: "spam_complaint",
  USER_SUPPRESSED: "suppressed",
};

/** A global suppression outranks the consent string: a SUBSCRIBED profile that bounced cannot be emailed. */
export function statusOfConsent(consent: Pick<KlaviyoEmailConsent, "consent" | "canReceiveEmail" | "suppressionReasons">): ConsentStatus {
  for (const reason of consent.suppressionReasons) {
    const status = SUPPRESSION_STATUS[reason];
    if (status) return status;
  }
  if (!consent.canReceiveEmail) return "suppressed";
  if (consent.consent === "SUBSCRIBED") return "subscribed";
  if (consent.consent === "UNSUBSCRIBED") return "unsubscribed";
  return "not_subscribed";
}

/** The status an email event reports; null for the events that say nothing about consent. */
export function statusOfEmailEvent(metric: string): ConsentStatus | null {
  switch (metric.trim().toLowerCase()) {
    case "unsubscribed":
      return "unsubscribed";
    case "bounced email":
      return "bounced";
    case "marked email as spam":
      return "spam_complaint";
    default:
      return null;
  }
}

/** Whether Klaviyo can send marketing email to a person with this status. */
export const canEmail = (status: ConsentStatus) => status === "subscribed";

/** The field's value names, in the languages the widget speaks (the account admin's language). */
export const STATUS_LABELS: Record<"en" | "es" | "pt", Record<ConsentStatus, string>> = {
  en: { subscribed: "Subscribed", not_subscribed: "Not subscribed", unsubscribed: "Unsubscribed", bounced: "Bounced", spam_complaint: "Spam complaint", suppressed: "Suppressed" },
  es: { subscribed: "Suscrito", not_subscribed: "No suscrito", unsubscribed: "Dado de baja", bounced: "Rebotado", spam_complaint: "Queja de spam", suppressed: "Suprimido" },
  pt: { subscribed: "Inscrito", not_subscribed: "Não inscrito", unsubscribed: "Descadastrado", bounced: "Devolvido", spam_complaint: "Denúncia de spam", suppressed: "Suprimido" },
};


export type FieldLanguage = keyof typeof STATUS_LABELS;
export const fieldLanguage = (lang: string | null | undefined): FieldLanguage => {
  const short = (lang ?? "").slice(0, 2).toLowerCase();
  return short === "es" || short === "pt" ? short : "en";
};
