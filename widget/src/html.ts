// Markup from tagged templates: html`<p>${value}</p>` escapes every interpolated value unless it is
// already markup made here (SafeHtml), so a name, an email or an error message from the backend is
// always text, never markup. Arrays of values are joined; null, undefined and false are left out.

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Markup that is safe to put into the page: only html`` and raw() make it. */
class Markup {
  constructor(private readonly markup: string) {}

  toString(): string {
    return this.markup;
  }
}

export type SafeHtml = Markup;

export type HtmlValue = SafeHtml | string | number | null | undefined | false | readonly HtmlValue[];

export function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

function render(value: HtmlValue): string {
  if (value instanceof Markup) return value.toString();
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeText(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let markup = strings[0]!;
  values.forEach((value, index) => {
    markup += render(value) + strings[index + 1]!;
  });
  return new Markup(markup);
}

/** Markup written in the widget's own source, never built from data: the icon shapes only. */
export function raw(markup: string): SafeHtml {
  return new Markup(markup);
}

/** A link target from the backend, only when it is an https URL (never javascript: or data:). */
export function httpsUrl(value: unknown): string | null {
  if (typeof value !== "string") return null;
  try {
    return new URL(value).protocol === "https:" ? value : null;
  } catch {
    return null;
  }
}
