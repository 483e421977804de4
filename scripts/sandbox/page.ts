// The sandbox page: a Kommo-like pipeline board, the real widget in Kommo's areas (deal card,
// settings, Digital Pipeline) and a panel of what Klaviyo received. The markup is a fixed shell;
// sandbox.js draws the board and the panel from GET /state with textContent only.
import { SANDBOX_TEXTS, type SandboxLang } from "./texts";

const escape = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

export function sandboxPage(input: { lang: SandboxLang; appUrl: string; adminUserId: number }): string {
  const t = SANDBOX_TEXTS[input.lang];
  const config = { lang: input.lang, texts: t, adminUserId: input.adminUserId };
  const langLink = (lang: SandboxLang, label: string) =>
    lang === input.lang ? `<strong>${label}</strong>` : `<a href="/?lang=${lang}" hreflang="${lang}">${label}</a>`;
  return `<!doctype html>
<html lang="${input.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(t.title)}</title>
<link rel="stylesheet" href="/sandbox.css">
<script>window.__SANDBOX__ = ${JSON.stringify(config).replace(/</g, "\\u003c")};</script>
<script src="/sandbox.js" defer></script>
</head>
<body>
<header class="sb-header">
  <h1>${escape(t.title)}</h1>
  <p class="sb-header__note">${escape(t.intro)}</p>
  <nav class="sb-header__links">
    <a href="${escape(input.appUrl)}/" target="_blank" rel="noopener">${escape(t.home)}</a>
    <a href="${escape(input.appUrl)}/dashboard/sign-in" target="_blank" rel="noopener">${escape(t.dashboard)}</a>
    <span class="sb-langs">${langLink("en", "EN")} · ${langLink("es", "ES")} · ${langLink("pt", "PT")}</span>
  </nav>
</header>
<main class="sb-main">
  <section class="sb-board" aria-label="${escape(t.board)}">
    <div class="sb-board__head"><h2>${escape(t.board)}</h2><span class="sb-muted">${escape(t.board_hint)}</span></div>
    <div class="sb-columns" data-sb-columns></div>
    <form class="sb-add" data-sb-add>
      <h3>${escape(t.add_deal)}</h3>
      <input name="name" required placeholder="${escape(t.deal_name)}" aria-label="${escape(t.deal_name)}">
      <input name="price" type="number" min="0" step="1" value="1000" aria-label="${escape(t.amount)}">
      <input name="firstName" required placeholder="${escape(t.first_name)}" aria-label="${escape(t.first_name)}">
      <input name="lastName" placeholder="${escape(t.last_name)}" aria-label="${escape(t.last_name)}">
      <input name="email" type="email" placeholder="${escape(t.email)}" aria-label="${escape(t.email)}">
      <select name="statusId" data-sb-stage-select aria-label="${escape(t.stage)}"></select>
      <button type="submit">${escape(t.add)}</button>
    </form>
    <section class="sb-deal" data-sb-deal hidden></section>
    <section class="sb-widget">
      <div class="sb-tabs" role="tablist">
        <button type="button" role="tab" data-sb-tab="lcard" aria-selected="true">${escape(t.tab_card)}</button>
        <button type="button" role="tab" data-sb-tab="settings" aria-selected="false">${escape(t.tab_settings)}</button>
        <button type="button" role="tab" data-sb-tab="digital_pipeline" aria-selected="false">${escape(t.tab_dp)}</button>
      </div>
      <p class="sb-muted" data-sb-widget-hint>${escape(t.card_hint)}</p>
      <div class="sb-dp-save" data-sb-dp-save hidden>
        <label>${escape(t.dp_stage)} <select data-sb-dp-stage></select></label>
        <button type="button" data-sb-dp-button>${escape(t.dp_save)}</button>
        <span class="sb-muted" data-sb-dp-saved></span>
      </div>
      <iframe class="sb-frame" title="${escape(t.widget_frame)}" data-sb-frame></iframe>
    </section>
  </section>
  <aside class="sb-klaviyo" aria-label="${escape(t.klaviyo)}" data-sb-klaviyo>
    <h2>${escape(t.klaviyo)}</h2>
    <p class="sb-muted">${escape(t.klaviyo_hint)}</p>
    <div data-sb-profiles></div>
  </aside>
</main>
</body>
</html>`;
}
