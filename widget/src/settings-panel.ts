// The settings panel, in Kommo's widget settings modal and on the advanced settings page: the
// Klaviyo private key, stage -> list mapping, event names, email-activity notes and the import of
// existing deals. Its own Save button is at the bottom; Kommo's Save (onSave) saves it too.
import { asApiError, errorText, type Api, type ApiError, type BackfillView, type KlaviyoList, type Pipeline, type SettingsView } from "./api";
import { DEFAULT_EVENT_NAMES, KLAVIYO_API_KEY_PATTERN, type EventNames } from "./backend";
import { element, fill } from "./dom";
import { html, type SafeHtml } from "./html";
import type { Texts } from "./i18n";
import { icon } from "./icons";
import type { Timers } from "./timers";
import { EVENT_NS, ROOT, isDarkBackground } from "./theme";

export type PanelLayout = "modal" | "page";

type EventKey = keyof EventNames;

/** The events in the order the backend defines them. */
const EVENT_KEYS = Object.keys(DEFAULT_EVENT_NAMES) as EventKey[];

/** Klaviyo metric names are shorter than 128 characters. */
const EVENT_NAME_MAX = 127;

const BACKFILL_POLL_MS = 2000;

/** The body of PUT /api/widget/settings. */
type SettingsUpdate = {
  klaviyoApiKey?: string;
  stageLists?: { pipelineId: number; statusId: number; listId: string }[];
  allDealsListId?: string | null;
  removeFromPreviousList: boolean;
  events: Record<EventKey, string | null>;
  activityNotes: boolean;
  consent: { statusField: boolean; optInFieldId?: number | null; optInListId?: string | null };
};

/** GET /api/widget/kommo/contact-fields: the contact checkbox fields the opt-in box may be. */
type CheckboxField = { id: number; name: string };

type PanelState = {
  settings: SettingsView | null;
  pipelines: Pipeline[] | null;
  pipelinesError: ApiError | null;
  lists: KlaviyoList[] | null;
  listsError: ApiError | null;
  checkboxes: CheckboxField[] | null;
  backfill: BackfillView | null;
  /** The backend offers the import (GET /api/widget/backfill answered, or said none was run yet). */
  backfillAvailable: boolean;
  replacingKey: boolean;
  saving: boolean;
};

export class SettingsPanel {
  readonly $root: JQuery;
  private readonly state: PanelState = {
    settings: null,
    pipelines: null,
    pipelinesError: null,
    lists: null,
    listsError: null,
    checkboxes: null,
    backfill: null,
    backfillAvailable: false,
    replacingKey: false,
    saving: false,
  };
  private watching = false;

  constructor(
    $host: JQuery,
    private readonly layout: PanelLayout,
    private readonly api: Api,
    private readonly texts: Texts,
    private readonly timers: Timers,
  ) {
    this.$root = element(html`<div class="${ROOT} ${ROOT}-settings ${ROOT}-settings--${layout}"></div>`);
    this.$root.toggleClass(`${ROOT}--dark`, isDarkBackground($host));
    $host.append(this.$root);
    this.bind();
    void this.load();
  }

  /** The panel has its settings: there is something to save. */
  get loaded(): boolean {
    return this.state.settings !== null;
  }

  private t: Texts["t"] = (key, values) => this.texts.t(key, values);

  async load(): Promise<void> {
    const state = this.state;
    fill(
      this.$root,
      html`<div class="${ROOT}__loading" role="status"><span class="${ROOT}__spinner"></span>${this.t("common.loading")}</div>`,
    );
    // Three independent reads, side by side (never one request per pipeline or list).
    const settings = this.api.get<SettingsView>("/api/widget/settings");
    const pipelines = this.api.get<{ pipelines: Pipeline[] }>("/api/widget/kommo/pipelines").then(
      (answer) => {
        state.pipelines = answer.pipelines;
        state.pipelinesError = null;
      },
      (error: unknown) => {
        state.pipelinesError = asApiError(error);
      },
    );
    const checkboxes = this.api.get<{ checkboxes: CheckboxField[] }>("/api/widget/kommo/contact-fields").then(
      (answer) => {
        state.checkboxes = answer.checkboxes;
      },
      () => {
        state.checkboxes = null;
      },
    );
    const backfill = this.api.get<BackfillView>("/api/widget/backfill").then(
      (answer) => {
        state.backfill = answer;
        state.backfillAvailable = true;
      },
      (error: unknown) => {
        state.backfillAvailable = asApiError(error).code === "no_backfill";
      },
    );
    let answer: SettingsView;
    try {
      answer = await settings;
    } catch (error) {
      fill(
        this.$root,
        html`<div class="${ROOT}__state ${ROOT}__state--error">
          ${icon("alert")}
          <div>
            <strong>${this.t("panel.load_failed")}</strong>
            <p>${errorText(this.texts, asApiError(error))}</p>
            <button type="button" class="${ROOT}__button" data-kvsync-action="reload">${this.t("common.retry")}</button>
          </div>
        </div>`,
      );
      return;
    }
    state.settings = answer;
    await Promise.all([pipelines, checkboxes, backfill, answer.klaviyo.connected ? this.loadLists() : undefined]);
    this.render();
    this.watchBackfill();
  }

  private async loadLists(): Promise<void> {
    const state = this.state;
    state.listsError = null;
    try {
      state.lists = (await this.api.get<{ lists: KlaviyoList[] }>("/api/widget/klaviyo/lists")).lists;
    } catch (error) {
      state.lists = null;
      state.listsError = asApiError(error);
    }
  }

  private render(): void {
    // Kommo's modal already shows the widget's name and description above the panel.
    const header =
      this.layout === "page" &&
      html`<header class="${ROOT}__header">
        <div class="${ROOT}__brand">${icon("sync")}</div>
        <div class="${ROOT}__header-text">
          <h2 class="${ROOT}__title">${this.t("panel.title")}</h2>
          <p class="${ROOT}__subtitle">${this.t("panel.subtitle")}</p>
        </div>
        <div class="${ROOT}__header-actions">
          <button type="button" class="${ROOT}__button" data-kvsync-action="open-dashboard">${this.t("panel.dashboard.open")}</button>
          <p class="${ROOT}__help">${this.t("panel.dashboard.help")}</p>
          <p class="${ROOT}__field-error" data-kvsync-dashboard-error role="alert" hidden></p>
        </div>
      </header>`;
    fill(
      this.$root,
      html`${header}${this.keySection()}${this.listsSection()}${this.eventsSection()}${this.notesSection()}${this.consentSection()}
        ${this.state.backfillAvailable && this.backfillSection()}
        <footer class="${ROOT}__footer">
          <div class="${ROOT}__footer-message" data-kvsync-footer role="status" aria-live="polite"></div>
          <button type="button" class="${ROOT}__button ${ROOT}__button--primary" data-kvsync-action="save">${this.t("common.save")}</button>
        </footer>`,
    );
  }

  private section(name: string, heading: string, help: string, body: SafeHtml): SafeHtml {
    return html`<section class="${ROOT}__section" data-kvsync-section="${name}">
      <h3 class="${ROOT}__section-title">${heading}</h3>
      ${help && html`<p class="${ROOT}__help">${help}</p>`}
      ${body}
    </section>`;
  }

  private keySection(): SafeHtml {
    const klaviyo = this.state.settings!.klaviyo;
    if (klaviyo.connected && !this.state.replacingKey) {
      const title = klaviyo.accountName ? this.t("panel.key.connected", { account: klaviyo.accountName }) : this.t("panel.key.connected_unnamed");
      return this.section(
        "key",
        this.t("panel.key.heading"),
        "",
        html`<div class="${ROOT}__connection ${ROOT}__connection--ok" data-kvsync-connection>
          <span class="${ROOT}__connection-icon">${icon("check")}</span>
          <div class="${ROOT}__connection-text">
            <strong>${title}</strong>
            <span class="${ROOT}__muted">${this.t("panel.key.key_hint", { hint: klaviyo.keyHint ?? "" })}</span>
            <span class="${ROOT}__muted" data-kvsync-activity-mode="${klaviyo.activityMode}">${this.t(`panel.key.mode_${klaviyo.activityMode}`, { interval: this.texts.interval(klaviyo.activityPollSeconds) })}</span>
          </div>
          <button type="button" class="${ROOT}__button ${ROOT}__button--ghost" data-kvsync-action="replace-key">${this.t("panel.key.replace")}</button>
        </div>`,
      );
    }
    return this.section(
      "key",
      this.t("panel.key.heading"),
      "",
      html`${!klaviyo.connected && html`<p class="${ROOT}__notice">${icon("plug")}${this.t("panel.key.not_connected")}</p>`}
        <label class="${ROOT}__label" for="kvsync-key">${this.t("panel.key.label")}</label>
        <div class="${ROOT}__key-row">
          <input id="kvsync-key" class="${ROOT}__input ${ROOT}__input--mono" type="password" autocomplete="off" spellcheck="false"
            data-kvsync-key placeholder="${this.t("panel.key.placeholder")}">
          <button type="button" class="${ROOT}__button ${ROOT}__button--ghost" data-kvsync-action="toggle-key">${this.t("panel.key.show")}</button>
          ${klaviyo.connected &&
          html`<button type="button" class="${ROOT}__button ${ROOT}__button--ghost" data-kvsync-action="cancel-replace">${this.t("common.cancel")}</button>`}
        </div>
        <p class="${ROOT}__field-error" data-kvsync-key-error role="alert" hidden></p>
        <p class="${ROOT}__help">${this.t("panel.key.help")}</p>`,
    );
  }

  private listOptions(lists: KlaviyoList[], selected: string): SafeHtml {
    // A mapped list that Klaviyo no longer has stays visible instead of silently dropped.
    const missing = selected !== "" && !lists.some((list) => list.id === selected);
    return html`<option value="">${this.t("panel.lists.no_list")}</option>${lists.map(
      (list) =>
        html`<option value="${list.id}"${list.id === selected && html` selected`}>${list.name}${list.doubleOptIn && ` (${this.t("panel.lists.double_opt_in")})`}</option>`,
    )}${missing && html`<option value="${selected}" selected>${this.t("panel.lists.missing_list", { id: selected })}</option>`}`;
  }

  private listsEditable(): boolean {
    return Boolean(this.state.lists && this.state.pipelines);
  }

  private listsSection(): SafeHtml {
    const state = this.state;
    const settings = state.settings!;
    const editable = this.listsEditable();
    const lists = state.lists ?? [];
    const mapped = new Map(settings.stageLists.map((entry) => [`${entry.pipelineId}:${entry.statusId}`, entry.listId]));
    const notice = (text: string, error = false) =>
      html`<p class="${ROOT}__notice${error && ` ${ROOT}__notice--error`}">${error && icon("alert")}${text}</p>`;

    const notices: SafeHtml[] = [];
    if (!settings.klaviyo.connected) notices.push(notice(this.t("panel.lists.connect_first")));
    else if (state.listsError) notices.push(notice(`${this.t("panel.lists.lists_failed")} ${errorText(this.texts, state.listsError)}`, true));
    if (state.pipelinesError) notices.push(notice(`${this.t("panel.lists.pipelines_failed")} ${errorText(this.texts, state.pipelinesError)}`, true));
    else if (state.pipelines && state.pipelines.length === 0) notices.push(notice(this.t("panel.lists.no_pipelines")));

    const pipelines = (state.pipelines ?? []).map(
      (pipeline) => html`<div class="${ROOT}__pipeline">
        <div class="${ROOT}__pipeline-name">${pipeline.name}</div>
        <table class="${ROOT}__table">
          <thead><tr><th>${this.t("panel.lists.stage")}</th><th>${this.t("panel.lists.list")}</th></tr></thead>
          <tbody>
            ${pipeline.stages.map((stage) => {
              const key = `${pipeline.id}:${stage.id}`;
              const fieldId = `kvsync-stage-${pipeline.id}-${stage.id}`;
              return html`<tr>
                <td><label for="${fieldId}">${stage.name}</label></td>
                <td><select id="${fieldId}" class="${ROOT}__select" data-kvsync-stage="${key}"${!editable && html` disabled`}>${this.listOptions(lists, mapped.get(key) ?? "")}</select></td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>`,
    );

    return this.section(
      "lists",
      this.t("panel.lists.heading"),
      this.t("panel.lists.help"),
      html`${notices}${pipelines}
        <div class="${ROOT}__row">
          <label class="${ROOT}__label" for="kvsync-all-deals">${this.t("panel.lists.all_deals")}</label>
          <select id="kvsync-all-deals" class="${ROOT}__select" data-kvsync-all-deals${!state.lists && html` disabled`}>${this.listOptions(lists, settings.allDealsListId ?? "")}</select>
          <p class="${ROOT}__help">${this.t("panel.lists.all_deals_help")}</p>
        </div>
        ${toggle("kvsync-remove-previous", html`data-kvsync-remove-previous`, settings.removeFromPreviousList, this.t("panel.lists.remove_previous"))}`,
    );
  }

  private eventsSection(): SafeHtml {
    const events = this.state.settings!.events;
    const rows = EVENT_KEYS.map((key) => {
      const name = events[key];
      const on = name !== null && name !== undefined;
      return html`<div class="${ROOT}__event-row" data-kvsync-event="${key}">
        ${toggle(`kvsync-event-${key}`, html`data-kvsync-event-on`, on, this.t(`panel.events.${key}`))}
        <input type="text" class="${ROOT}__input" maxlength="${EVENT_NAME_MAX}" aria-label="${this.t("panel.events.name_label")}" data-kvsync-event-name
          value="${on ? name : DEFAULT_EVENT_NAMES[key]}"${!on && html` disabled`}>
        <p class="${ROOT}__field-error" data-kvsync-event-error role="alert" hidden></p>
      </div>`;
    });
    return this.section("events", this.t("panel.events.heading"), this.t("panel.events.help"), html`<div class="${ROOT}__events">${rows}</div>`);
  }

  private notesSection(): SafeHtml {
    return this.section(
      "notes",
      this.t("panel.notes.heading"),
      "",
      html`${toggle("kvsync-notes", html`data-kvsync-notes`, this.state.settings!.activityNotes, this.t("panel.notes.label"))}
        <p class="${ROOT}__help">${this.t("panel.notes.help")}</p>`,
    );
  }

  private consentSection(): SafeHtml {
    // A backend from before consent answers without the section: shown as off.
    const consent = this.state.settings!.consent ?? { statusField: false, optInFieldId: null, optInListId: null };
    const checkboxes = this.state.checkboxes;
    const lists = this.state.lists ?? [];
    const selected = consent.optInFieldId;
    // A field chosen earlier stays offered even when Kommo's list could not be read.
    const fieldOptions = html`<option value="">${this.t("panel.consent.opt_in_off")}</option>${(checkboxes ?? []).map(
      (field) => html`<option value="${String(field.id)}"${field.id === selected && html` selected`}>${field.name}</option>`,
    )}${selected !== null && !(checkboxes ?? []).some((field) => field.id === selected) && html`<option value="${String(selected)}" selected>#${String(selected)}</option>`}`;
    const notice = !checkboxes
      ? html`<p class="${ROOT}__notice ${ROOT}__notice--error">${icon("alert")}${this.t("panel.consent.fields_failed")}</p>`
      : checkboxes.length === 0 && html`<p class="${ROOT}__notice">${this.t("panel.consent.no_checkboxes")}</p>`;
    return this.section(
      "consent",
      this.t("panel.consent.heading"),
      this.t("panel.consent.help"),
      html`${toggle("kvsync-consent-status", html`data-kvsync-consent-status`, consent.statusField, this.t("panel.consent.status_field"))}
        <p class="${ROOT}__help">${this.t("panel.consent.status_help")}</p>
        ${notice}
        <div class="${ROOT}__row">
          <label class="${ROOT}__label" for="kvsync-consent-field">${this.t("panel.consent.opt_in_field")}</label>
          <select id="kvsync-consent-field" class="${ROOT}__select" data-kvsync-consent-field${!checkboxes && html` disabled`}>${fieldOptions}</select>
        </div>
        <div class="${ROOT}__row">
          <label class="${ROOT}__label" for="kvsync-consent-list">${this.t("panel.consent.opt_in_list")}</label>
          <select id="kvsync-consent-list" class="${ROOT}__select" data-kvsync-consent-list${!this.state.lists && html` disabled`}>${this.consentListOptions(lists, consent.optInListId ?? "")}</select>
        </div>
        <p class="${ROOT}__help">${this.t("panel.consent.opt_in_help")}</p>
        <p class="${ROOT}__field-error" data-kvsync-consent-error role="alert" hidden></p>`,
    );
  }

  private consentListOptions(lists: KlaviyoList[], selected: string): SafeHtml {
    const missing = selected && !lists.some((list) => list.id === selected);
    return html`<option value="">${this.t("panel.consent.opt_in_no_list")}</option>${lists.map(
      (list) =>
        html`<option value="${list.id}"${list.id === selected && html` selected`}>${list.name}${list.doubleOptIn && ` (${this.t("panel.lists.double_opt_in")})`}</option>`,
    )}${missing && html`<option value="${selected}" selected>${this.t("panel.lists.missing_list", { id: selected })}</option>`}`;
  }

  private backfillSection(): SafeHtml {
    return this.section(
      "backfill",
      this.t("panel.backfill.heading"),
      this.t("panel.backfill.help"),
      html`<div class="${ROOT}__backfill" data-kvsync-backfill>${this.backfillBody()}</div>`,
    );
  }

  private backfillBody(): SafeHtml {
    const run = this.state.backfill;
    const active = run !== null && (run.status === "queued" || run.status === "running");
    let status = this.t("panel.backfill.idle");
    let percent = 0;
    if (run) {
      const total = typeof run.total === "number" ? run.total : null;
      percent = run.status === "completed" ? 100 : total ? Math.min(100, Math.round((run.done / total) * 100)) : 0;
      if (run.status === "queued") status = this.t("panel.backfill.queued");
      else if (run.status === "running")
        status = total ? this.t("panel.backfill.running", { done: run.done, total }) : this.t("panel.backfill.running_unknown", { done: run.done });
      else if (run.status === "completed") status = this.t("panel.backfill.completed", { done: run.done });
      else if (run.status === "failed") status = this.t("panel.backfill.failed", { error: run.lastError ?? "" });
    }
    return html`${run &&
      html`<div class="${ROOT}__progress${run.status === "failed" && ` ${ROOT}__progress--failed`}" role="progressbar"
        aria-valuemin="0" aria-valuemax="100" aria-valuenow="${percent}"><span style="width:${percent}%"></span></div>`}
      <div class="${ROOT}__backfill-row">
        <span class="${ROOT}__backfill-status" data-kvsync-backfill-status>${status}${run && run.errors > 0 && ` · ${this.t("panel.backfill.errors", { count: run.errors })}`}</span>
        <button type="button" class="${ROOT}__button" data-kvsync-action="start-backfill"${active && html` disabled`}>${this.t("panel.backfill.start")}</button>
      </div>
      <p class="${ROOT}__field-error" data-kvsync-backfill-error role="alert" hidden></p>`;
  }

  private renderBackfill(): void {
    fill(this.$root.find("[data-kvsync-backfill]"), this.backfillBody());
  }

  /** While an import runs, its progress is read every few seconds, one request at a time. */
  private watchBackfill(): void {
    const run = this.state.backfill;
    if (!run || (run.status !== "queued" && run.status !== "running") || this.watching) return;
    this.watching = true;
    this.timers.later(() => {
      this.api.get<BackfillView>("/api/widget/backfill").then(
        (answer) => {
          this.watching = false;
          this.state.backfill = answer;
          this.renderBackfill();
          this.watchBackfill();
        },
        () => {
          this.watching = false;
          this.watchBackfill();
        },
      );
    }, BACKFILL_POLL_MS);
  }

  private startBackfill(): void {
    this.$root.find('[data-kvsync-action="start-backfill"]').prop("disabled", true).text(this.t("panel.backfill.starting"));
    this.api.request<{ id: string; status: "queued" }>("POST", "/api/widget/backfill", {}).then(
      (answer) => {
        this.state.backfill = { id: answer.id, status: answer.status, done: 0, total: null, errors: 0, lastError: null };
        this.renderBackfill();
        this.watchBackfill();
      },
      (error: unknown) => {
        this.renderBackfill();
        this.$root.find("[data-kvsync-backfill-error]").text(errorText(this.texts, asApiError(error))).prop("hidden", false);
      },
    );
  }

  /**
   * The dashboard (sync log, failures, replay) in a new tab, signed in as this admin through a
   * one-minute link. Browsers block a tab opened after an asynchronous call, so the click opens
   * the tab and the answer fills it in.
   */
  private openDashboard(): void {
    const tab = window.open("", "_blank");
    if (tab) tab.opener = null;
    const $error = this.$root.find("[data-kvsync-dashboard-error]").prop("hidden", true);
    this.api.request<{ url: string }>("POST", "/api/widget/dashboard-link", {}).then(
      (answer) => {
        if (tab) tab.location.href = answer.url;
        else window.open(answer.url, "_blank", "noopener");
      },
      (error: unknown) => {
        if (tab) tab.close();
        $error.text(errorText(this.texts, asApiError(error))).prop("hidden", false);
      },
    );
  }

  private bind(): void {
    const $root = this.$root;
    $root.on(`click${EVENT_NS}`, "[data-kvsync-action]", (event) => {
      event.preventDefault();
      const $button = $(event.currentTarget);
      const action = $button.attr("data-kvsync-action");
      if (action === "save") void this.save().catch(() => undefined);
      else if (action === "reload") void this.load();
      else if (action === "start-backfill") this.startBackfill();
      else if (action === "open-dashboard") this.openDashboard();
      else if (action === "replace-key" || action === "cancel-replace") {
        this.state.replacingKey = action === "replace-key";
        $root.find('[data-kvsync-section="key"]').replaceWith(element(this.keySection()));
        if (this.state.replacingKey) $root.find("[data-kvsync-key]").trigger("focus");
      } else if (action === "toggle-key") {
        const $key = $root.find("[data-kvsync-key]");
        const hidden = $key.attr("type") === "password";
        $key.attr("type", hidden ? "text" : "password");
        $button.text(this.t(hidden ? "panel.key.hide" : "panel.key.show"));
      }
    });
    $root.on(`change${EVENT_NS}`, "[data-kvsync-event-on]", (event) => {
      const checkbox = event.currentTarget as HTMLInputElement;
      const $row = $(checkbox).closest("[data-kvsync-event]");
      $row.find("[data-kvsync-event-name]").prop("disabled", !checkbox.checked);
      $row.find("[data-kvsync-event-error]").prop("hidden", true);
    });
    $root.on(`input${EVENT_NS}`, "[data-kvsync-key]", (event) => {
      $root.find("[data-kvsync-key-error]").prop("hidden", true);
      $(event.currentTarget).removeClass(`${ROOT}__input--invalid`);
    });
  }

  /** The settings body from the form; null (with the problems shown inline) when the form is not valid. */
  private collect(): SettingsUpdate | null {
    const $root = this.$root;
    const t = this.t;
    let valid = true;
    const body: SettingsUpdate = {
      removeFromPreviousList: $root.find("[data-kvsync-remove-previous]").prop("checked") as boolean,
      events: {} as SettingsUpdate["events"],
      activityNotes: $root.find("[data-kvsync-notes]").prop("checked") as boolean,
      consent: { statusField: $root.find("[data-kvsync-consent-status]").prop("checked") as boolean },
    };
    // Choices the panel could not offer (Kommo's fields or Klaviyo's lists unread) keep their value.
    if (this.state.checkboxes) body.consent.optInFieldId = Number($root.find("[data-kvsync-consent-field]").val()) || null;
    if (this.state.lists) body.consent.optInListId = String($root.find("[data-kvsync-consent-list]").val() ?? "") || null;
    const key = String($root.find("[data-kvsync-key]").val() ?? "").trim();
    if (key) {
      if (!KLAVIYO_API_KEY_PATTERN.test(key)) {
        this.showKeyError(t("errors.key_format"));
        valid = false;
      } else {
        body.klaviyoApiKey = key;
      }
    }
    if (this.listsEditable()) {
      body.stageLists = [];
      $root.find("[data-kvsync-stage]").each(function () {
        const listId = String($(this).val() ?? "");
        if (!listId) return;
        const [pipelineId, statusId] = String($(this).attr("data-kvsync-stage")).split(":").map(Number);
        body.stageLists!.push({ pipelineId: pipelineId!, statusId: statusId!, listId });
      });
    }
    if (this.state.lists) body.allDealsListId = String($root.find("[data-kvsync-all-deals]").val() ?? "") || null;
    $root.find("[data-kvsync-event]").each(function () {
      const $row = $(this);
      const on = $row.find("[data-kvsync-event-on]").prop("checked") as boolean;
      const name = String($row.find("[data-kvsync-event-name]").val() ?? "").trim();
      const problem = !on ? "" : !name ? t("errors.event_name_empty") : name.length > EVENT_NAME_MAX ? t("errors.event_name_long") : "";
      $row.find("[data-kvsync-event-error]").text(problem).prop("hidden", !problem);
      if (problem) valid = false;
      body.events[$row.attr("data-kvsync-event") as EventKey] = on ? name : null;
    });
    return valid ? body : null;
  }

  private showKeyError(message: string): void {
    this.$root.find("[data-kvsync-key-error]").text(message).prop("hidden", false);
    this.$root.find("[data-kvsync-key]").addClass(`${ROOT}__input--invalid`);
  }

  private footer(kind: "ok" | "error" | "", message: string): void {
    const $message = this.$root.find("[data-kvsync-footer]");
    $message.attr("class", kind ? `${ROOT}__footer-message ${ROOT}__footer-message--${kind}` : `${ROOT}__footer-message`);
    fill($message, html`${message && html`${icon(kind === "ok" ? "check" : "alert")}<span>${message}</span>`}`);
  }

  /** Save the form (PUT). Resolves when saved; rejects, with the reason shown inline, otherwise. */
  async save(): Promise<void> {
    if (this.state.saving || !this.state.settings) throw new Error("nothing to save");
    const body = this.collect();
    if (!body) {
      this.footer("error", this.t("panel.footer.not_saved"));
      throw new Error("the form is not valid");
    }
    const wasConnected = this.state.settings.klaviyo.connected;
    const $save = this.$root.find('[data-kvsync-action="save"]');
    this.state.saving = true;
    $save.prop("disabled", true).addClass(`${ROOT}__button--busy`).text(this.t("common.saving"));
    this.footer("", "");
    let saved: SettingsView;
    try {
      saved = await this.api.request<SettingsView>("PUT", "/api/widget/settings", body);
    } catch (reason) {
      const error = asApiError(reason);
      this.state.saving = false;
      $save.prop("disabled", false).removeClass(`${ROOT}__button--busy`).text(this.t("common.save"));
      const message = errorText(this.texts, error);
      if (error.code === "klaviyo_key_rejected" || error.code === "klaviyo_unavailable") this.showKeyError(message);
      if (error.code === "subscriptions_scope_missing" || error.code === "invalid_opt_in_field") {
        this.$root.find("[data-kvsync-consent-error]").text(message).prop("hidden", false);
      }
      this.footer("error", error.code === "klaviyo_key_rejected" ? this.t("panel.footer.not_saved") : message);
      throw reason;
    }
    this.state.saving = false;
    this.state.settings = saved;
    this.state.replacingKey = false;
    // A key that just connected (or changed) brings its own lists.
    if (body.klaviyoApiKey || !wasConnected) await this.loadLists();
    this.render();
    this.footer("ok", this.t("common.saved"));
  }

  destroy(): void {
    this.$root.off(EVENT_NS).remove();
  }
}

/** A labelled on/off switch; `attribute` marks the checkbox for collect(). */
function toggle(id: string, attribute: SafeHtml, checked: boolean, label: string): SafeHtml {
  return html`<label class="${ROOT}__toggle" for="${id}">
    <input type="checkbox" id="${id}" ${attribute}${checked && html` checked`}>
    <span class="${ROOT}__switch" aria-hidden="true"></span>
    <span class="${ROOT}__toggle-label">${label}</span>
  </label>`;
}
