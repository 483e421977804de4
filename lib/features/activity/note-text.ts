// The words of a Kommo note for one Klaviyo email event, e.g. `Opened email "Welcome to ACME"`.
// Pure: the same event always reads the same. Klaviyo's built-in email events carry the message
// subject in `Subject` and the campaign in `Campaign Name`.
import { z } from "zod";

/** Klaviyo's built-in email metrics this product brings back to Kommo, by their Klaviyo names. */
export const ACTIVITY_METRICS = ["Received Email", "Opened Email", "Clicked Email", "Bounced Email", "Unsubscribed"] as const;
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

/** What a note says, from what the activity cache keeps of the event (see store.ts). */
export type NoteFacts = { metric: ActivityMetric; subject: string | null; campaign: string | null };

export function activityNoteText({ metric, subject, campaign }: NoteFacts): string {
  const email = subject ? `email "${subject}"` : "an email";
  const from = campaign && campaign !== subject ? ` (campaign "${campaign}")` : "";
  switch (metric) {
    case "Received Email":
      return `Received ${email}${from}`;
    case "Opened Email":
      return `Opened ${email}${from}`;
    case "Clicked Email":
      return `Clicked a link in ${email}${from}`;
    case "Bounced Email":
      return `${subject ? `Email "${subject}"` : "An email"}${from} bounced`;
    case "Unsubscribed":
      return `Unsubscribed from email marketing${subject ? ` after email "${subject}"` : ""}${from}`;
  }
}
