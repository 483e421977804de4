// How long a string read from Kommo may be. Kommo's own forms keep real values far below these;
// anyone who can edit a contact (or forge a webhook) can send more, and a long string costs every
// regex, parser and log line after it. Each value is cut, or dropped, as it arrives, before any
// pattern sees it.

export const KOMMO_LIMITS = {
  /** An e-mail address: RFC 5321's 254-character path limit. Longer is never an address. */
  email: 254,
  /** A phone number as typed: 15 digits of E.164 plus spacing, punctuation and an extension. */
  phone: 64,
  /** Entity, user, stage, pipeline and tag names (Kommo's inputs take 255). */
  name: 255,
  /** Codes and short enumerations: field codes and types, country, currency, language, colour. */
  code: 64,
  /** A subdomain: one DNS label. */
  subdomain: 63,
  /** Any other text value (custom field values, problem details). */
  text: 4096,
  /** URLs we follow or compare (pagination links, webhook destinations). */
  url: 8192,
} as const;

/** The value, cut to `max` characters. A cut value stays longer than any semantic limit below it. */
export const truncate = (value: string, max: number): string => (value.length > max ? value.slice(0, max) : value);
