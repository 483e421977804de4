// The loopback HTTP server that stands in for Kommo's side of the page: it serves the built
// widget's files (as Kommo serves an uploaded widget.zip), jQuery, the runtime that plays Kommo's
// widget API, the page itself, and the one-time tokens that `$authorizedAjax` attaches.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { projectRoot } from "./environment";

export type KommoArea = "lcard" | "settings" | "advanced_settings" | "digital_pipeline";
export type Theme = "light" | "dark";

export type PageOptions = {
  area: KommoArea;
  lang: "en" | "es" | "pt";
  theme: Theme;
  /** The lead of the card (0 for a new, unsaved card). */
  leadId?: number;
  userId: number;
  lead?: { name: string; stage: string; price: string; contact: string };
  /** "expired": Kommo hands out tokens that have already expired (the backend refuses them). */
  token?: TokenMode;
  /** Holds every token this long, to see the widget while it waits for its data. */
  tokenDelayMs?: number;
  /** Run Kommo's callbacks as soon as the page is ready (tests call __startKommo themselves). */
  autostart?: boolean;
};

export type TokenMode = "valid" | "expired";

export type HarnessServerOptions = {
  /** The built widget: archive path -> bytes. */
  widgetFiles: Record<string, Uint8Array>;
  account: { id: number; subdomain: string; timezone: string | null };
  clientId: string;
  /** Signs a one-time token for this Kommo user. */
  issueToken: (userId: number, mode: TokenMode) => Promise<string>;
};

export type HarnessServer = { url: string; kommoOrigin: string; pageUrl: (options: PageOptions) => string; close: () => Promise<void> };

const WIDGET_CODE = "klaviyo_sync";
const TYPES: Record<string, string> = { ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json; charset=utf-8", ".png": "image/png", ".html": "text/html; charset=utf-8" };

const escape = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function pageHtml(base: string, options: PageOptions, serverOptions: HarnessServerOptions, i18n: Record<string, Record<string, string>>): string {
  const config = {
    area: options.area,
    lang: options.lang,
    leadId: options.leadId ?? 0,
    widgetCode: WIDGET_CODE,
    widgetPath: `${base}/widget`,
    version: "1.0.0",
    clientId: serverOptions.clientId,
    account: serverOptions.account,
    user: { id: options.userId },
    tokenUrl: `${base}/token?user=${options.userId}&mode=${options.token ?? "valid"}&delay=${options.tokenDelayMs ?? 0}`,
    i18n,
  };
  const lead = options.lead ?? { name: "Deal", stage: "", price: "", contact: "" };
  let body: string;
  if (options.area === "lcard") {
    body = `<div class="kp-card">
      <section class="kp-card__info">
        <header class="kp-card__head"><h1>${escape(lead.name)}</h1><span class="kp-card__stage">${escape(lead.stage)}</span></header>
        <div class="kp-card__fields">
          <div class="kp-card__field"><span>Budget</span><span>${escape(lead.price)}</span></div>
          <div class="kp-card__field"><span>Contact</span><span>${escape(lead.contact)}</span></div>
          <div class="kp-card__field"><span>Responsible</span><span>Admin</span></div>
          <div class="kp-card__field"><span>Tags</span><span></span></div>
        </div>
      </section>
      <aside id="widgets_block"></aside>
    </div>`;
  } else if (options.area === "settings") {
    body = `<div class="kp-integrations">${"<span></span>".repeat(8)}</div>
    <div class="kp-overlay">
      <div class="widget-settings__modal">
        <div class="kp-modal__head"><img src="${base}/widget/images/logo_main.png" alt="">
          <div><h2>${escape(i18n.widget!.name!)}</h2><p>${i18n.widget!.description!}</p></div></div>
        <div class="modal-body"><div class="widget_settings_block"><div class="widget_settings_block__fields"></div></div></div>
      </div>
    </div>`;
  } else if (options.area === "digital_pipeline") {
    // Kommo's Digital Pipeline action panel: the widget's row, then one plain text input per
    // dp.settings key of the manifest, named by the key and labelled by its i18n text.
    const field = (key: string) =>
      `<div class="widget_settings_block__item_field"><label>${escape(i18n.dp![key] as string)}</label><input type="text" name="${key}" value=""></div>`;
    body = `<div class="kp-dp"><div class="kp-dp__modal">
      <div class="kp-dp__head"><div class="digital-pipeline__short-task digital-pipeline__short-task_widget-style_${WIDGET_CODE}">${escape(i18n.widget!.name!)}</div></div>
      <form class="kp-dp__form" data-action="send_widget_hook">${["event_name", "list_id", "kss_token"].map(field).join("")}<button type="button">Done</button></form>
    </div></div>`;
  } else {
    body = `<div class="kp-advanced"><h1>${escape(i18n.advanced!.title!)}</h1><div class="kp-advanced__area" id="work-area-${WIDGET_CODE}"></div></div>`;
  }
  return `<!doctype html>
<html lang="${options.lang}">
<head>
<meta charset="utf-8">
<title>Kommo</title>
<link rel="stylesheet" href="${base}/kommo-page.css">
<script src="${base}/vendor/jquery.js"></script>
<script>window.__KOMMO__ = ${JSON.stringify(config).replace(/</g, "\\u003c")};</script>
<script src="${base}/kommo-runtime.js"></script>
<script src="${base}/widget/script.js"></script>
${options.autostart ? "<script>jQuery(function () { window.__startKommo(); });</script>" : ""}
</head>
<body class="theme-${options.theme}">
<nav class="kp-nav"><span></span><span></span><span></span><span></span></nav>
<main class="kp-main">${body}</main>
</body>
</html>`;
}

export type HarnessResponder = (status: number, type: string, body: string | Uint8Array) => void;

/**
 * The harness's routes, for a server whose paths under `base` are the harness's (this file's own
 * server, or the sandbox of `npm run demo`, which mounts them under /kommo). Answers false for a
 * path that is not one of them.
 */
export function harnessRoutes(options: HarnessServerOptions, base: () => string): (url: URL, prefix: string, send: HarnessResponder) => Promise<boolean> {
  const jquery = readFileSync(path.join(projectRoot, "node_modules/jquery/dist/jquery.js"));
  const harnessFile = (name: string) => readFileSync(path.join(__dirname, name));
  const i18n = (lang: string) => JSON.parse(new TextDecoder().decode(options.widgetFiles[`i18n/${lang}.json`])) as Record<string, Record<string, string>>;
  return async (url, prefix, send) => {
    if (!url.pathname.startsWith(`${prefix}/`)) return false;
    const pathname = url.pathname.slice(prefix.length);
    if (pathname === "/token") {
      const userId = Number(url.searchParams.get("user"));
      if (!Number.isInteger(userId) || userId <= 0) return (send(400, TYPES[".json"]!, JSON.stringify({ error: "user" })), true);
      const mode: TokenMode = url.searchParams.get("mode") === "expired" ? "expired" : "valid";
      const delay = Math.min(Number(url.searchParams.get("delay")) || 0, 30_000);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      send(200, TYPES[".json"]!, JSON.stringify({ token: await options.issueToken(userId, mode) }));
      return true;
    }
    if (pathname === "/page") {
      const page = JSON.parse(url.searchParams.get("options") ?? "{}") as PageOptions;
      send(200, TYPES[".html"]!, pageHtml(base(), page, options, i18n(page.lang)));
      return true;
    }
    if (pathname === "/vendor/jquery.js") return (send(200, TYPES[".js"]!, jquery), true);
    if (pathname === "/kommo-runtime.js") return (send(200, TYPES[".js"]!, harnessFile("kommo-runtime.js")), true);
    if (pathname === "/kommo-page.css") return (send(200, TYPES[".css"]!, harnessFile("kommo-page.css")), true);
    if (pathname.startsWith("/widget/")) {
      const file = options.widgetFiles[pathname.slice("/widget/".length)];
      if (file) return (send(200, TYPES[path.extname(pathname)] ?? "application/octet-stream", file), true);
    }
    return false;
  };
}

export async function startHarnessServer(options: HarnessServerOptions): Promise<HarnessServer> {
  const kommoOrigin = `https://${options.account.subdomain}.kommo.com`;
  let base = "";
  const routes = harnessRoutes(options, () => base);

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", base);
    // Kommo's page (another origin) reads tokens and widget files.
    response.setHeader("Access-Control-Allow-Origin", kommoOrigin);
    const send = (status: number, type: string, body: string | Uint8Array) => {
      response.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
      response.end(body);
    };
    routes(url, "", send).then(
      (answered) => answered || send(404, "text/plain", "not found"),
      (error: unknown) => send(500, "text/plain", String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    kommoOrigin,
    pageUrl: (page) => `${base}/page?options=${encodeURIComponent(JSON.stringify(page))}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
