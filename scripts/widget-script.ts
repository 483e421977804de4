// script.js of the widget: widget/src bundled by esbuild into one readable (not minified) AMD
// module, define(['jquery'], function ($) { ...; return CustomWidget; }), as Kommo loads it.
//
// The widget imports a few constants from the backend's modules (widget/src/backend.ts). Those
// modules are loaded here, in Node, and only their plain values (strings, numbers, booleans,
// regular expressions, arrays and objects of these) go into the bundle: the widget gets the
// backend's default event names and key pattern without any of the backend's code or libraries.
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { build, type Plugin } from "esbuild";

const ROOT_DIR = path.resolve(__dirname, "..");
const BACKEND_DIR = path.join(ROOT_DIR, "lib") + path.sep;

/** The bundle's file comments name sources relative to the project, never a machine path. */
const relative = (file: string) => path.relative(ROOT_DIR, file).split(path.sep).join("/");

/** A JavaScript literal for a plain value, or null when the value is not plain data. */
function literal(value: unknown, seen = new Set<unknown>()): string | null {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : null;
  if (value instanceof RegExp) return `/${value.source}/${value.flags}`;
  if (typeof value !== "object" || seen.has(value)) return null;
  seen.add(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => literal(item, seen));
    return items.includes(null) ? null : `[${items.join(", ")}]`;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return null;
  const entries = Object.entries(value).map(([key, item]) => {
    const text = literal(item, seen);
    const name = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
    return text === null ? null : `${name}: ${text}`;
  });
  return entries.includes(null) ? null : `{ ${entries.join(", ")} }`;
}

/** A backend module as Node runs it: compiled by esbuild with its packages left to Node's require. */
async function loadBackendModule(file: string): Promise<Record<string, unknown>> {
  const compiled = await build({
    absWorkingDir: ROOT_DIR,
    entryPoints: [file],
    bundle: true,
    packages: "external",
    platform: "node",
    format: "cjs",
    target: "node20",
    write: false,
    logLevel: "silent",
  });
  const module = { exports: {} as Record<string, unknown> };
  const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${compiled.outputFiles[0]!.text}\n})`, { filename: file });
  wrapper(module.exports, createRequire(file), module, file, path.dirname(file));
  return module.exports;
}

/** Imports of backend modules become modules of their plain values. */
const backendValues: Plugin = {
  name: "backend-values",
  setup(bundler) {
    bundler.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!args.path.startsWith(BACKEND_DIR)) return undefined;
      const values = await loadBackendModule(args.path);
      const lines = Object.entries(values).flatMap(([name, value]) => {
        const text = /^[A-Za-z_$][\w$]*$/.test(name) ? literal(value) : null;
        return text === null ? [] : [`export const ${name} = ${text};`];
      });
      return { contents: `${lines.join("\n")}\n`, loader: "js" };
    });
  },
};

export class WidgetScriptError extends Error {}

const HEADER = `/*
 * Klaviyo Sync: the Kommo widget. The settings panel (widget settings and advanced settings page)
 * and the deal card's pane (lcard-1), talking to the Klaviyo Sync backend through Kommo's
 * $authorizedAjax. Built by \`npm run widget:build\` from the TypeScript sources in widget/src.
 */
define(['jquery'], function ($) {
  'use strict';

  // The backend this widget talks to: the operator's APP_URL, written by the build.
  var BACKEND_URL = '%BACKEND_URL%';
`;

const EXPORT = /\nexport \{\n {2}CustomWidget as default\n\};\n$/;

/** script.js with the %BACKEND_URL% placeholder (the archive build fills it in). */
export async function bundleWidgetScript(sourceDir = path.join(ROOT_DIR, "widget", "src")): Promise<string> {
  const result = await build({
    absWorkingDir: ROOT_DIR,
    entryPoints: [path.join(sourceDir, "widget.ts")],
    // The project's settings (and its @/ paths to the backend) wherever the sources are.
    tsconfig: path.join(ROOT_DIR, "widget", "tsconfig.json"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    charset: "utf8",
    legalComments: "none",
    minify: false,
    write: false,
    logLevel: "silent",
    plugins: [backendValues],
  }).catch((error: { errors?: { text: string; location?: { file: string; line: number } | null }[] }) => {
    const messages = (error.errors ?? []).map((problem) => (problem.location ? `${relative(path.resolve(ROOT_DIR, problem.location.file))}:${problem.location.line}: ${problem.text}` : problem.text));
    throw new WidgetScriptError(`widget/src does not build: ${messages.join("; ") || String(error)}`);
  });
  const code = result.outputFiles[0]!.text;
  if (!EXPORT.test(code)) throw new WidgetScriptError("widget/src/widget.ts must end with `export default CustomWidget`");
  const body = code.replace(EXPORT, "\n");
  return `${HEADER}\n${body}\n  return CustomWidget;\n});\n`;
}
