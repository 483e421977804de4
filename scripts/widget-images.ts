// The widget's logos: SVG sources in widget/images/src, rendered to the PNGs Kommo's marketplace
// asks for. Every logo*.svg becomes images/<name>.png at the SVG's own width and height; other SVGs
// there are parts the logos place with <image href="mark.svg" ...> (mark.svg is also the product's
// icon for the marketplace listing).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Resvg } from "@resvg/resvg-js";

export class WidgetImageError extends Error {}

/** <image href="part.svg"> of a sibling SVG, inlined as a data URL (the renderer reads no files). */
function inlineParts(svg: string, directory: string, seen: string[] = []): string {
  return svg.replace(/\bhref="([a-z0-9_-]+\.svg)"/g, (_whole, name: string) => {
    if (seen.includes(name)) throw new WidgetImageError(`images/src/${name} includes itself`);
    const part = inlineParts(readFileSync(path.join(directory, name), "utf8"), directory, [...seen, name]);
    return `href="data:image/svg+xml;base64,${Buffer.from(part).toString("base64")}"`;
  });
}

function sizeOf(svg: string, name: string): [number, number] {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? "";
  const width = Number(/\bwidth="(\d+)"/.exec(root)?.[1]);
  const height = Number(/\bheight="(\d+)"/.exec(root)?.[1]);
  if (!width || !height) throw new WidgetImageError(`images/src/${name} needs width and height in pixels on its <svg>`);
  return [width, height];
}

/** images/<name>.png for every images/src/logo*.svg of `widgetDir`. */
export function renderLogos(widgetDir: string): Record<string, Uint8Array> {
  const directory = path.join(widgetDir, "images", "src");
  const pngs: Record<string, Uint8Array> = {};
  for (const file of readdirSync(directory).filter((name) => /^logo[a-z0-9_]*\.svg$/.test(name)).sort()) {
    const svg = inlineParts(readFileSync(path.join(directory, file), "utf8"), directory);
    const [width, height] = sizeOf(svg, file);
    // No system fonts: the logos have no text, and the same sources give the same pixels anywhere.
    const image = new Resvg(svg, { fitTo: { mode: "original" }, font: { loadSystemFonts: false } }).render();
    if (image.width !== width || image.height !== height) throw new WidgetImageError(`images/src/${file} rendered at ${image.width}x${image.height}, not ${width}x${height}`);
    pngs[`images/${file.replace(/\.svg$/, ".png")}`] = new Uint8Array(image.asPng());
  }
  return pngs;
}
