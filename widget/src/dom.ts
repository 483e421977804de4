// The only places where markup enters the page: always SafeHtml from html``, never a string.
import type { SafeHtml } from "./html";

/** Replace the content of `$target` with `markup`. */
export function fill($target: JQuery, markup: SafeHtml): JQuery {
  return $target.html(markup.toString());
}

/** A new element (with its children) from `markup`, not yet in the page; scripts are never kept. */
export function element(markup: SafeHtml): JQuery {
  return $($.parseHTML(markup.toString().trim(), document, false) as HTMLElement[]);
}
