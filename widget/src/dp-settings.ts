// The Digital Pipeline action "Send to Klaviyo": Kommo draws a plain text input per `dp.settings`
// key of the manifest (event_name, list_id, kss_token) in the action's panel. This replaces them
// with a friendly form: an event name with suggestions from the Klaviyo account's metrics, an
// optional list picker, and the hidden connection key (the account's DP token) filled in from the
// backend. Every choice is written back into Kommo's own inputs, which Kommo saves with the action.
import { asApiError, errorText, type Api, type KlaviyoList } from "./api";
import { element } from "./dom";
import { html } from "./html";
import type { Texts } from "./i18n";
import { EVENT_NS, ROOT, isDarkBackground } from "./theme";

/** GET /api/widget/digital-pipeline */
type DigitalPipelineView = { webhookUrl: string; token: string };

const MAX_EVENT_NAME = 127;

/** Kommo's action panel of this widget; the whole page when its markup is not recognised. */
export function findActionPanel(widgetCode: string | undefined): JQuery {
  const styled = $("[class*='digital-pipeline__short-task_widget-style_']").filter((_index, node) =>
    Boolean(widgetCode) && node.classList.contains(`digital-pipeline__short-task_widget-style_${widgetCode}`),
  );
  const byCode = styled.parent().parent().find("[data-action=send_widget_hook]");
  if (byCode.length) return byCode.first();
  const wrapper = $("#widget_settings__fields_wrapper");
  if (wrapper.length) return wrapper.first();
  return $("input[name=kss_token]").first().closest("form, div");
}

export class DigitalPipelineForm {
  private readonly $root: JQuery;
  private readonly inputs: { event: JQuery; list: JQuery; token: JQuery };

  constructor(
    private readonly $panel: JQuery,
    private readonly api: Api,
    private readonly texts: Texts,
  ) {
    this.inputs = {
      event: $panel.find("input[name=event_name]").first(),
      list: $panel.find("input[name=list_id]").first(),
      token: $panel.find("input[name=kss_token]").first(),
    };
    $panel.find("[data-kvsync-dp]").remove();
    const listId = `${ROOT}-dp-metrics-${Math.random().toString(36).slice(2, 10)}`;
    const t = (key: Parameters<Texts["t"]>[0]) => this.texts.t(key);
    this.$root = element(html`<div class="${ROOT} ${ROOT}-dp" data-kvsync-dp>
      <div class="${ROOT}__section">
        <h3 class="${ROOT}__section-title">${t("dp.form.title")}</h3>
        <p class="${ROOT}__help">${t("dp.form.help")}</p>
        <label class="${ROOT}__label" for="${listId}-input">${t("dp.form.event_label")}</label>
        <input id="${listId}-input" class="${ROOT}__input" type="text" maxlength="${MAX_EVENT_NAME}" list="${listId}"
          placeholder="${t("dp.form.event_placeholder")}" data-kvsync-dp-event autocomplete="off">
        <datalist id="${listId}" data-kvsync-dp-metrics></datalist>
        <p class="${ROOT}__help">${t("dp.form.event_suggestions")}</p>
        <p class="${ROOT}__field-error" data-kvsync-dp-event-error hidden></p>
        <label class="${ROOT}__label" for="${listId}-list">${t("dp.form.list_label")}</label>
        <select id="${listId}-list" class="${ROOT}__select" data-kvsync-dp-list>
          <option value="">${t("dp.form.no_list")}</option>
        </select>
        <p class="${ROOT}__help">${t("dp.form.list_help")}</p>
        <p class="${ROOT}__notice" data-kvsync-dp-status role="status">${t("common.loading")}</p>
      </div>
    </div>`);
    this.$root.toggleClass(`${ROOT}--dark`, isDarkBackground($panel));
    // Kommo's own inputs stay in the form (Kommo saves them) but out of sight.
    for (const $input of Object.values(this.inputs)) {
      const $row = $input.closest(".widget_settings_block__item_field, .digital-pipeline__field, .js-control-input-wrapper");
      ($row.length && !$row.is($panel) ? $row : $input).hide();
    }
    $panel.prepend(this.$root);
    this.bind();
    this.$root.find("[data-kvsync-dp-event]").val(String(this.inputs.event.val() ?? ""));
    void this.load();
  }

  private write($input: JQuery, value: string): void {
    if ($input.val() === value) return;
    $input.val(value).trigger("change").trigger("input");
  }

  private bind(): void {
    this.$root.on(`input${EVENT_NS} change${EVENT_NS}`, "[data-kvsync-dp-event]", (event) => {
      const value = String($(event.currentTarget).val() ?? "").trim();
      const problem = value === "" ? this.texts.t("dp.form.event_empty") : value.length > MAX_EVENT_NAME ? this.texts.t("dp.form.event_long") : "";
      this.$root.find("[data-kvsync-dp-event-error]").text(problem).prop("hidden", !problem);
      this.write(this.inputs.event, value);
    });
    this.$root.on(`change${EVENT_NS}`, "[data-kvsync-dp-list]", (event) => {
      this.write(this.inputs.list, String($(event.currentTarget).val() ?? ""));
    });
  }

  private async load(): Promise<void> {
    const $status = this.$root.find("[data-kvsync-dp-status]");
    const connect = this.api.get<DigitalPipelineView>("/api/widget/digital-pipeline").then(
      (view) => {
        this.write(this.inputs.token, view.token);
        $status.text(this.texts.t("dp.form.connected")).removeClass(`${ROOT}__notice--error`).attr("data-kvsync-dp-status", "connected");
      },
      (error: unknown) => {
        $status.text(`${this.texts.t("dp.form.token_failed")} ${errorText(this.texts, asApiError(error))}`).addClass(`${ROOT}__notice--error`).attr("data-kvsync-dp-status", "failed");
      },
    );
    const suggestions = this.api.get<{ metrics: string[] }>("/api/widget/klaviyo/metrics").then(
      ({ metrics }) => {
        const $datalist = this.$root.find("[data-kvsync-dp-metrics]");
        for (const name of metrics) $datalist.append(element(html`<option value="${name}"></option>`));
      },
      () => undefined, // suggestions only: typing a new name works without them
    );
    const lists = this.api.get<{ lists: KlaviyoList[] }>("/api/widget/klaviyo/lists").then(
      ({ lists: found }) => {
        const $select = this.$root.find("[data-kvsync-dp-list]");
        const current = String(this.inputs.list.val() ?? "");
        for (const list of found) $select.append(element(html`<option value="${list.id}">${list.name}</option>`));
        if (current && !found.some((list) => list.id === current)) $select.append(element(html`<option value="${current}">${current}</option>`));
        $select.val(current);
      },
      (error: unknown) => {
        this.$root.find("[data-kvsync-dp-list]").after(element(html`<p class="${ROOT}__field-error">${this.texts.t("dp.form.lists_failed")} ${errorText(this.texts, asApiError(error))}</p>`));
      },
    );
    await Promise.all([connect, suggestions, lists]);
  }

  destroy(): void {
    this.$root.off(EVENT_NS).remove();
  }
}
