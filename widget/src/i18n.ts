// Every text of the widget comes from i18n/<lang>.json, which Kommo hands over through
// `self.i18n(section)`. Keys are checked at compile time against en.json (the other languages
// have the same keys: tests/unit/widget-archive.test.ts), so a text asked for always exists.
import type { KommoWidget } from "./kommo";

type English = typeof import("../i18n/en.json");

/** "pane.status.ok" and every other dotted path to a text of en.json. */
type PathsOf<Tree> = {
  [Key in keyof Tree & string]: Tree[Key] extends string ? Key : `${Key}.${PathsOf<Tree[Key]>}`;
}[keyof Tree & string];

export type TextKey = PathsOf<English>;

export type TextValues = Record<string, string | number>;

export class Texts {
  constructor(private readonly widget: KommoWidget) {}

  /** The text of the user's language, with {name} placeholders filled from `values`. */
  t(key: TextKey, values?: TextValues): string {
    return this.lookUp(key, values) ?? key;
  }

  /** The text of a key made at run time (e.g. from an error code), or null when there is none. */
  optional(key: string, values?: TextValues): string | null {
    return this.lookUp(key, values);
  }

  private lookUp(key: string, values?: TextValues): string | null {
    const [section, ...path] = key.split(".");
    let value: unknown = this.widget.i18n(section!);
    for (const part of path) {
      if (value === null || typeof value !== "object") return null;
      value = (value as Record<string, unknown>)[part];
    }
    if (typeof value !== "string") return null;
    return value.replace(/\{(\w+)\}/g, (whole, name: string) => (values && values[name] !== undefined ? String(values[name]) : whole));
  }

  /** The BCP 47 tag of the user's language (en-US, es-ES, pt-BR). */
  locale(): string | undefined {
    return this.optional("locale.tag") ?? undefined;
  }

  /** "Mar 2, 11:00 AM" in `timeZone` (the account's), or in the browser's zone when it is not valid. */
  formatTime(iso: string, timeZone: string | undefined): string {
    const options: Intl.DateTimeFormatOptions = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone };
    try {
      return new Intl.DateTimeFormat(this.locale(), options).format(new Date(iso));
    } catch {
      delete options.timeZone;
      return new Intl.DateTimeFormat(this.locale(), options).format(new Date(iso));
    }
  }

  /** "1 minute", "5 minutes", "30 seconds" in the user's language: an interval given in seconds. */
  interval(seconds: number): string {
    const [value, unit] = seconds % 60 === 0 ? [seconds / 60, "minute"] : [seconds, "second"];
    return new Intl.NumberFormat(this.locale(), { style: "unit", unit, unitDisplay: "long" }).format(value);
  }

  /** "5 minutes ago", "yesterday" in the user's language. */
  relativeTime(iso: string): string {
    const steps: [Intl.RelativeTimeFormatUnit, number][] = [
      ["second", 60],
      ["minute", 60],
      ["hour", 24],
      ["day", 30],
      ["month", 12],
      ["year", Infinity],
    ];
    let value = (new Date(iso).getTime() - Date.now()) / 1000;
    for (const [unit, size] of steps) {
      if (Math.abs(value) < size || unit === "year") {
        if (unit === "second" && Math.abs(value) < 45) return this.t("pane.just_now");
        return new Intl.RelativeTimeFormat(this.locale(), { numeric: "auto" }).format(Math.round(value), unit);
      }
      value /= size;
    }
    return "";
  }
}

/** The account's time zone from the backend, else Kommo's account setting, else the browser's. */
export function accountTimeZone(fromBackend: string | null | undefined): string | undefined {
  if (fromBackend) return fromBackend;
  try {
    const account = window.APP?.constant?.("account") as { timezone?: unknown } | null | undefined;
    if (account && typeof account.timezone === "string" && account.timezone) return account.timezone;
  } catch {
    // APP.constant is read-only Kommo data; when it is missing the browser's zone is used.
  }
  return undefined;
}
