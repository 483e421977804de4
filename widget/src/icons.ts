// The widget's line icons (24x24, stroked with the text colour).
import { html, raw, type SafeHtml } from "./html";
import { ROOT } from "./theme";

const SHAPES = {
  received: raw('<path d="M3 6.5h18v11H3z"/><path d="M3 7l9 6 9-6"/>'),
  opened: raw('<path d="M3 10l9-6 9 6v9H3z"/><path d="M3 10l9 6 9-6"/>'),
  clicked: raw('<path d="M6 3l12 7.5-5.2 1.3L10 17z"/><path d="M12.8 11.8L17 18"/>'),
  bounced: raw('<path d="M9 7L4 12l5 5"/><path d="M4 12h11a5 5 0 0 1 0 10h-2"/>'),
  spam: raw('<path d="M5 21V4"/><path d="M5 4h11l-2 4 2 4H5"/>'),
  unsubscribed: raw('<circle cx="12" cy="12" r="8.5"/><path d="M8 12h8"/>'),
  other: raw('<circle cx="12" cy="12" r="3"/>'),
  sync: raw('<path d="M20 11a8 8 0 0 0-14.3-4.9L4 8"/><path d="M4 4v4h4"/><path d="M4 13a8 8 0 0 0 14.3 4.9L20 16"/><path d="M20 20v-4h-4"/>'),
  external: raw('<path d="M14 4h6v6"/><path d="M20 4l-9 9"/><path d="M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"/>'),
  check: raw('<path d="M5 12.5l4.5 4.5L19 7.5"/>'),
  alert: raw('<path d="M12 8v5"/><path d="M12 16.5v.5"/><circle cx="12" cy="12" r="9"/>'),
  mail: raw('<path d="M3 6.5h18v11H3z"/><path d="M3 7l9 6 9-6"/>'),
  plug: raw('<path d="M9 3v5M15 3v5M6 8h12v3a6 6 0 0 1-12 0z"/><path d="M12 17v4"/>'),
} as const;

export type IconName = keyof typeof SHAPES;

export function icon(name: IconName, extraClass?: string): SafeHtml {
  const className = extraClass ? `${ROOT}__icon ${extraClass}` : `${ROOT}__icon`;
  return html`<svg class="${className}" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor"
    stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${SHAPES[name]}</svg>`;
}
