// `npm run widget:build`: packs the widget into widget.zip for upload to Kommo, with the files at
// the archive root as Kommo requires. script.js is bundled from the TypeScript sources in
// widget/src (scripts/widget-script.ts), the logos are rendered from the SVGs in widget/images/src
// (scripts/widget-images.ts), and the rest is copied from widget/. The widget calls the backend it
// was built for: the build writes APP_URL into script.js, and the operator's support and privacy
// addresses into the manifest and the descriptions.
//
//   APP_URL=https://sync.example.com npm run widget:build [-- --out path/to/widget.zip]
//
// Optional: WIDGET_SUPPORT_URL (default APP_URL), WIDGET_SUPPORT_EMAIL (default support@<APP_URL
// host>), WIDGET_PRIVACY_URL (default WIDGET_SUPPORT_URL).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { zipSync, type Zippable } from "fflate";
import { z } from "zod";
import { renderLogos, WidgetImageError } from "./widget-images";
import { bundleWidgetScript, WidgetScriptError } from "./widget-script";

export const WIDGET_DIR = path.resolve(__dirname, "..", "widget");

/**
 * What is copied into the archive: the files Kommo reads, nothing else (no README, no sources).
 * script.js and the logos are made by the build; the tour slides, one set per language
 * (images/tour_<n>_<lang>.png), are committed screenshots of the sandbox (tests/browser/widget-tour.spec.ts).
 */
const COPIED = [/^manifest\.json$/, /^style\.css$/, /^i18n\/[a-z]{2}\.json$/, /^images\/tour_\d_[a-z]{2}\.png$/];
const TEXT = /\.(json|js|css)$/;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

const origin = (what: string) =>
  z
    .string({ message: `${what} is required` })
    .trim()
    .refine((value) => URL.canParse(value), `${what} must be an absolute URL`)
    .transform((value) => new URL(value))
    .refine((url) => url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname)), {
      message: `${what} must use https (Kommo pages are https and browsers block plain http, except for a local test backend on 127.0.0.1)`,
    });

const optionsSchema = z.object({
  appUrl: origin("APP_URL").transform((url) => url.origin),
  supportUrl: origin("WIDGET_SUPPORT_URL").transform((url) => url.href).optional(),
  supportEmail: z.email("WIDGET_SUPPORT_EMAIL must be an email address").optional(),
  privacyUrl: origin("WIDGET_PRIVACY_URL").transform((url) => url.href).optional(),
});

export type WidgetBuildOptions = z.input<typeof optionsSchema>;

export class WidgetBuildError extends Error {}

function listFiles(directory: string, prefix = ""): string[] {
  return readdirSync(path.join(directory, prefix), { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(directory, relative) : [relative];
  });
}

/** The archive's files (path -> bytes) with the placeholders filled in. */
export async function widgetFiles(input: WidgetBuildOptions, directory = WIDGET_DIR): Promise<Record<string, Uint8Array>> {
  const parsed = optionsSchema.safeParse(input);
  if (!parsed.success) throw new WidgetBuildError(parsed.error.issues.map((issue) => issue.message).join("; "));
  const options = parsed.data;
  const supportUrl = options.supportUrl ?? `${options.appUrl}/`;
  const values: Record<string, string> = {
    BACKEND_URL: options.appUrl,
    SUPPORT_URL: supportUrl,
    SUPPORT_EMAIL: options.supportEmail ?? `support@${new URL(options.appUrl).hostname}`,
    PRIVACY_URL: options.privacyUrl ?? supportUrl,
  };
  const sources: Record<string, Uint8Array> = {};
  for (const file of listFiles(directory).sort()) {
    if (COPIED.some((pattern) => pattern.test(file))) sources[file] = new Uint8Array(readFileSync(path.join(directory, file)));
  }
  try {
    sources["script.js"] = new TextEncoder().encode(await bundleWidgetScript(path.join(directory, "src")));
    Object.assign(sources, renderLogos(directory));
  } catch (error) {
    if (error instanceof WidgetScriptError || error instanceof WidgetImageError) throw new WidgetBuildError(error.message);
    throw error;
  }
  const files: Record<string, Uint8Array> = {};
  for (const file of Object.keys(sources).sort()) {
    if (!TEXT.test(file)) {
      files[file] = sources[file]!;
      continue;
    }
    let text = new TextDecoder().decode(sources[file]);
    for (const [name, value] of Object.entries(values)) {
      // Inside JSON strings and JS string literals the value must stay a valid string.
      text = text.split(`%${name}%`).join(file.endsWith(".json") ? JSON.stringify(value).slice(1, -1) : value.replace(/['\\]/g, "\\$&"));
    }
    const left = /%[A-Z_]+%/.exec(text);
    if (left) throw new WidgetBuildError(`${file} still has the placeholder ${left[0]}`);
    files[file] = new TextEncoder().encode(text);
  }
  if (!files["manifest.json"]) throw new WidgetBuildError("widget/manifest.json is missing");
  return files;
}

/** A fixed timestamp: the same sources always give the same archive. */
const ARCHIVE_TIME = new Date(Date.UTC(2026, 0, 1));

export async function buildWidgetZip(input: WidgetBuildOptions, directory = WIDGET_DIR): Promise<Uint8Array> {
  const files = await widgetFiles(input, directory);
  const zippable: Zippable = {};
  for (const [name, bytes] of Object.entries(files)) zippable[name] = [bytes, { mtime: ARCHIVE_TIME, level: name.endsWith(".png") ? 0 : 9 }];
  return zipSync(zippable);
}

async function main() {
  const outIndex = process.argv.indexOf("--out");
  const out = path.resolve(outIndex > 0 && process.argv[outIndex + 1] ? process.argv[outIndex + 1]! : path.join(WIDGET_DIR, "..", "widget.zip"));
  if (!process.env.APP_URL?.trim()) {
    console.error("widget build failed: APP_URL is not set; give the public origin of your backend, e.g. APP_URL=https://sync.example.com npm run widget:build");
    process.exit(1);
  }
  try {
    const zip = await buildWidgetZip({
      appUrl: process.env.APP_URL,
      supportUrl: process.env.WIDGET_SUPPORT_URL || undefined,
      supportEmail: process.env.WIDGET_SUPPORT_EMAIL || undefined,
      privacyUrl: process.env.WIDGET_PRIVACY_URL || undefined,
    });
    writeFileSync(out, zip);
    console.log(`wrote ${path.relative(process.cwd(), out)} (${zip.length} bytes) for the backend at ${new URL(process.env.APP_URL!).origin}`);
  } catch (error) {
    if (!(error instanceof WidgetBuildError)) throw error;
    console.error(`widget build failed: ${error.message}`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) void main();
