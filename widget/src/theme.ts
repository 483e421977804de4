// The widget's root class (every style.css selector is under it) and Kommo's light or dark theme.

export const ROOT = "kvsync";

/** Namespace of the widget's jQuery event handlers, removed all at once by destroy(). */
export const EVENT_NS = ".kvsync";

/** Kommo's dark theme is a darker page background; the widget follows whatever surrounds it. */
export function isDarkBackground($element: JQuery | undefined): boolean {
  let node: Node | null | undefined = $element?.[0];
  while (node && node.nodeType === Node.ELEMENT_NODE) {
    const color = window.getComputedStyle(node as Element).backgroundColor;
    const match = /rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)/.exec(color || "");
    if (match && (match[4] === undefined || parseFloat(match[4]) > 0.5)) {
      const luminance = (0.2126 * Number(match[1]) + 0.7152 * Number(match[2]) + 0.0722 * Number(match[3])) / 255;
      return luminance < 0.45;
    }
    node = node.parentNode;
  }
  return false;
}
