// The words of a Kommo note for one Klaviyo email event, e.g. `Opened email "Welcome to ACME"`.
// Pure: the same event always reads the same. Klaviyo's built-in email events carry the message
// subject in `Subject` and the campaign in `Campaign Name`.
import { z } from "zod";

/** Klaviyo's built-in email metrics this product brings back to Kommo, by their Klaviyo names. */
export const ACTIVITY_METRICS = ["Received Email", "Opened Email", "Clicked Email", "Bounced Email", "Marked Email as Spam", "Unsubscribed"] as const;
export type ActivityMetric = (typeof ACTIVITY_METRICS)[number];

/** Klaviyo's capitalisation of these names has varied; compare them without regard to case. */
export function activityMetricNamed(name: string | null | undefined): ActivityMetric | null {
  const wanted = name?.trim().toLowerCase();
  return ACTIVITY_METRICS.find((metric) => metric.toLowerCase() === wanted) ?? null;
}

const MAX_QUOTED = 200;

// Event properties are whatever Klaviyo recorded; read only short strings from them.
const text = z
  .unknown()
  .transform((value) => (typeof value === "string" ? value.replace(/\s+/g, " ").trim() : ""))
  .transform((value) => (value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED - 1)}…` : value));

const read = (properties: Record<string, unknown>, key: string): string => text.parse(properties[key]);

export const subjectOf = (properties: Record<string, unknown>): string | null => read(properties, "Subject") || null;
export const campaignOf = (properties: Record<string, unknown>): string | null => read(properties, "Campaign Name") || null;

/** Languages notes are written in (Kommo's interface languages that the widget speaks too). */
export const NOTE_LANGUAGES = ["en", "es", "pt"] as const;
export type NoteLanguage = (typeof NOTE_LANGUAGES)[number];

/** "es", "es_ES", "pt-BR" -> es / pt; anything else (or nothing) -> English. */
export function noteLanguage(language: string | null | undefined): NoteLanguage {
  const base = language?.trim().toLowerCase().split(/[-_]/)[0];
  return NOTE_LANGUAGES.find((candidate) => candidate === base) ?? "en";
}

/** What a note says, from what the activity cache keeps of the event (see store.ts). */
export type NoteFacts = {
  metric: ActivityMetric;
  subject: string | null;
  campaign: string | null;
  /** The account's language (Kommo's code); English when unknown or not one of ours. */
  language?: string | null;
  /** When given, the note ends with the time, in `timeZone` (IANA; UTC when unknown). */
  occurredAt?: Date;
  timeZone?: string | null;
};

/** Each phrase gets the email's subject (null when Klaviyo recorded none). */
type Phrases = {
  campaign: (name: string) => string;
  received: (subject: string | null) => string;
  opened: (subject: string | null) => string;
  clicked: (subject: string | null) => string;
  /** The campaign goes between the email and the verb: `Email "X" (campaign "Y") bounced`. */
  bounced: (subject: string | null, campaign: string) => string;
  /** The campaign goes after the email, as for a bounce: `Marked email "X" (campaign "Y") as spam`. */
  markedSpam: (subject: string | null, campaign: string) => string;
  unsubscribed: (subject: string | null) => string;
};

const quoted = (subject: string) => `"${subject}"`;

const PHRASES: Record<NoteLanguage, Phrases> = {
  en: {
    campaign: (name) => ` (campaign "${name}")`,
    received: (subject) => `Received ${subject ? `email ${quoted(subject)}` : "an email"}`,
    opened: (subject) => `Opened ${subject ? `email ${quoted(subject)}` : "an email"}`,
    clicked: (subject) => `Clicked a link in ${subject ? `email ${quoted(subject)}` : "an email"}`,
    bounced: (subject, campaign) => `${subject ? `Email ${quoted(subject)}` : "An email"}${campaign} bounced`,
    markedSpam: (subject, campaign) => `Marked ${subject ? `email ${quoted(subject)}` : "an email"}${campaign} as spam`,
    unsubscribed: (subject) => `Unsubscribed from email marketing${subject ? ` after email ${quoted(subject)}` : ""}`,
  },
  es: {
    campaign: (name) => ` (campaña "${name}")`,
    received: (subject) => `Recibió ${subject ? `el correo ${quoted(subject)}` : "un correo"}`,
    opened: (subject) => `Abrió ${subject ? `el correo ${quoted(subject)}` : "un correo"}`,
    clicked: (subject) => `Hizo clic en un enlace ${subject ? `del correo ${quoted(subject)}` : "de un correo"}`,
    bounced: (subject, campaign) => `${subject ? `El correo ${quoted(subject)}` : "Un correo"}${campaign} rebotó`,
    markedSpam: (subject, campaign) => `Marcó ${subject ? `el correo ${quoted(subject)}` : "un correo"}${campaign} como spam`,
    unsubscribed: (subject) => `Se dio de baja del email marketing${subject ? ` tras el correo ${quoted(subject)}` : ""}`,
  },
  pt: {
    campaign: (name) => ` (campanha "${name}")`,
    received: (subject) => `Recebeu ${subject ? `o e-mail ${quoted(subject)}` : "um e-mail"}`,
    opened: (subject) => `Abriu ${subject ? `o e-mail ${quoted(subject)}` : "um e-mail"}`,
    clicked: (subject) => `Clicou em um link ${subject ? `do e-mail ${quoted(subject)}` : "de um e-mail"}`,
    bounced: (subject, campaign) => `${subject ? `O e-mail ${quoted(subject)}` : "Um e-mail"}${campaign} foi devolvido`,
    markedSpam: (subject, campaign) => `Marcou ${subject ? `o e-mail ${quoted(subject)}` : "um e-mail"}${campaign} como spam`,
    unsubscribed: (subject) => `Cancelou a inscrição no e-mail marketing${subject ? ` após o e-mail ${quoted(subject)}` : ""}`,
  },
};

/** The event's time as the account reads it, e.g. "Dec 2, 2026, 2:05 PM" or "2 dic 2026, 14:05". */
export function noteTime(at: Date, language: NoteLanguage, timeZone: string | null | undefined): string {
  const zone = validTimeZone(timeZone);
  const text = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short", timeZone: zone ?? "UTC" }).format(at);
  return zone ? text : `${text} UTC`;
}

/** An IANA zone this runtime knows, else null. */
export function validTimeZone(timeZone: string | null | undefined): string | null {
  if (!timeZone) return null;
  try {
    new Intl.DateTimeFormat("en", { timeZone });
    return timeZone;
  } catch {
    return null;
  }
}

export function activityNoteText({ metric, subject, campaign, language, occurredAt, timeZone }: NoteFacts): string {
  const lang = noteLanguage(language);
  const words = PHRASES[lang];
  const from = campaign && campaign !== subject ? words.campaign(campaign) : "";
  const sentence = (() => {
    switch (metric) {
      case "Received Email":
        return `${words.received(subject)}${from}`;
      case "Opened Email":
        return `${words.opened(subject)}${from}`;
      case "Clicked Email":
        return `${words.clicked(subject)}${from}`;
      case "Bounced Email":
        return words.bounced(subject, from);
      case "Marked Email as Spam":
        return words.markedSpam(subject, from);
      case "Unsubscribed":
        return `${words.unsubscribed(subject)}${from}`;
    }
  })();
  return occurredAt ? `${sentence} — ${noteTime(occurredAt, lang, timeZone)}` : sentence;
}
