// Klaviyo Sync's Kommo widget: the settings panel (widget settings modal and advanced settings page)
// and the deal card's pane (lcard-1). Kommo calls the callbacks below; everything else is read from
// and written to the Klaviyo Sync backend (api.ts). The build bundles this file and its imports
// into script.js, an AMD module whose factory returns CustomWidget.
import { Api } from "./api";
import { DealPane } from "./deal-pane";
import { element } from "./dom";
import { DigitalPipelineForm, findActionPanel } from "./dp-settings";
import { html } from "./html";
import { Texts } from "./i18n";
import type { KommoWidget } from "./kommo";
import { SettingsPanel } from "./settings-panel";
import { ROOT } from "./theme";
import { Timers } from "./timers";

/** Kommo makes the widget with `new`, with its helpers on the prototype: a constructor function, not a class. */
export default function CustomWidget(this: KommoWidget): KommoWidget {
  const texts = new Texts(this);
  const api = new Api(this);
  const timers = new Timers();
  let panel: SettingsPanel | null = null;
  let pane: DealPane | null = null;
  let dpForm: DigitalPipelineForm | null = null;

  const area = (): string => (typeof this.system === "function" && this.system()?.area) || "";

  const currentLeadId = (): number => {
    const id = Number(window.APP?.data?.current_card?.id ?? 0);
    return id > 0 ? id : 0;
  };

  /** style.css from where Kommo serves the widget's files, once per page. */
  const loadStyles = (): void => {
    if ($("link[data-kvsync-style]").length) return;
    const params = this.params || this.get_settings() || {};
    if (!params.path) return;
    const version = params.version || (typeof this.get_version === "function" ? this.get_version() : "") || "1";
    $("head").append(element(html`<link rel="stylesheet" data-kvsync-style href="${params.path}/style.css?v=${encodeURIComponent(version)}">`));
  };

  const openPanel = ($host: JQuery, layout: "modal" | "page"): void => {
    panel?.destroy();
    panel = new SettingsPanel($host, layout, api, texts, timers);
  };

  this.callbacks = {
    render: () => {
      loadStyles();
      if (area() === "lcard") {
        this.render_template({
          caption: { class_name: `${ROOT}-caption` },
          body: "",
          render: html`<div class="${ROOT} ${ROOT}-pane" data-kvsync-pane></div>`.toString(),
        });
      }
      return true;
    },
    init: () => {
      if (area() === "lcard") {
        const $root = $("[data-kvsync-pane]").last();
        if ($root.length) {
          pane?.destroy();
          pane = new DealPane($root, currentLeadId(), api, texts, timers);
        }
      }
      return true;
    },
    bind_actions: () => {
      // Every handler is delegated from the widget's own roots (bound when they are drawn).
      return true;
    },
    settings: ($modalBody) => {
      loadStyles();
      const $host = $modalBody && $modalBody.jquery ? $modalBody : $(".widget-settings__modal, .modal-body").last();
      const $fields = $host.find(".widget_settings_block__fields").first();
      openPanel($fields.length ? $fields : $host, "modal");
      return true;
    },
    advancedSettings: () => {
      loadStyles();
      const code = this.get_settings()?.widget_code;
      const page = document.getElementById(`work-area-${code}`) ?? document.getElementById("work-area");
      openPanel($(page ?? []), "page");
      return true;
    },
    dpSettings: () => {
      loadStyles();
      const $panel = findActionPanel(this.get_settings()?.widget_code);
      dpForm?.destroy();
      dpForm = $panel.length ? new DigitalPipelineForm($panel, api, texts) : null;
      return true;
    },
    onSave: () => {
      // Kommo's own Save (and Install) also saves what is in the panel; without a panel there is
      // nothing of ours to save.
      if (!panel || !panel.loaded) return true;
      return panel.save().then(() => true);
    },
    destroy: () => {
      timers.clear();
      panel?.destroy();
      pane?.destroy();
      dpForm?.destroy();
      dpForm = null;
      panel = null;
      pane = null;
    },
  };
  return this;
}
