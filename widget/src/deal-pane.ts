// The deal card's pane (lcard-1, the right-hand widgets column): the contact's Klaviyo profile, the
// stage and lists Klaviyo has, the deal's sync status with the last problem in plain words, the
// recent email activity, and "Sync now".
import { asApiError, errorText, type Api, type DealActivity, type SyncProblem } from "./api";
import { DIGITAL_PIPELINE_TRIGGER_PREFIX as DP_TRIGGER, type EmailActivityKind } from "./backend";
import { fill } from "./dom";
import { html, httpsUrl, type SafeHtml } from "./html";
import { accountTimeZone, type Texts } from "./i18n";
import { icon, type IconName } from "./icons";
import type { Timers } from "./timers";
import { EVENT_NS, ROOT, isDarkBackground } from "./theme";

const SYNC_POLL_MS = 1500;
/** While the card is open the pane reads the deal again (the backend reads Klaviyo live, shared per profile). */
export const PANE_REFRESH_MS = 20_000;
const SYNC_POLL_LIMIT_MS = 45_000;

const KINDS: readonly EmailActivityKind[] = ["received", "opened", "clicked", "bounced", "spam", "unsubscribed", "other"];

type Sync = DealActivity["sync"];
type Activity = DealActivity["activity"][number];
type Notice = { kind: "info" | "error"; text: string };

export class DealPane {
  private data: DealActivity | null = null;
  private syncing = false;
  private notice: Notice | null = null;
  private closed = false;

  constructor(
    private readonly $root: JQuery,
    private readonly leadId: number,
    private readonly api: Api,
    private readonly texts: Texts,
    private readonly timers: Timers,
  ) {
    $root.toggleClass(`${ROOT}--dark`, isDarkBackground($root.parent()));
    this.bind();
    void this.load();
  }

  private t: Texts["t"] = (key, values) => this.texts.t(key, values);

  private bind(): void {
    this.$root.on(`click${EVENT_NS}`, "[data-kvsync-action]", (event) => {
      event.preventDefault();
      const action = $(event.currentTarget).attr("data-kvsync-action");
      if (action === "sync-now") void this.syncNow();
      else if (action === "reload") void this.load();
    });
  }

  async load(): Promise<void> {
    if (!this.leadId) {
      fill(this.$root, this.empty("plug", "", this.t("pane.new_card")));
      return;
    }
    fill(this.$root, this.skeleton());
    try {
      await this.fetch();
    } catch (error) {
      fill(
        this.$root,
        html`<div class="${ROOT}__state ${ROOT}__state--error" data-kvsync-state="error">
          ${icon("alert")}
          <div>
            <strong>${this.t("pane.load_failed")}</strong>
            <p>${errorText(this.texts, asApiError(error))}</p>
            <button type="button" class="${ROOT}__button" data-kvsync-action="reload">${this.t("common.retry")}</button>
          </div>
        </div>`,
      );
      return;
    }
    this.render();
    this.scheduleRefresh();
  }

  /** Read the deal again every PANE_REFRESH_MS until the card closes; a failed read keeps what is shown. */
  private scheduleRefresh(): void {
    this.timers.later(() => {
      if (this.closed) return;
      if (this.syncing) return this.scheduleRefresh();
      this.fetch().then(
        () => {
          if (this.closed) return;
          this.render();
          this.scheduleRefresh();
        },
        () => this.scheduleRefresh(),
      );
    }, PANE_REFRESH_MS);
  }

  private async fetch(): Promise<DealActivity> {
    this.data = await this.api.get<DealActivity>(`/api/widget/leads/${encodeURIComponent(this.leadId)}/activity`);
    return this.data;
  }

  private skeleton(): SafeHtml {
    const line = (width: number) => html`<span class="${ROOT}__skeleton" style="width:${width}%"></span>`;
    return html`<div class="${ROOT}__loading-pane" data-kvsync-state="loading" aria-busy="true" aria-label="${this.t("common.loading")}">
      <div class="${ROOT}__skeleton-head"><span class="${ROOT}__skeleton ${ROOT}__skeleton--round"></span><div>${line(80)}${line(50)}</div></div>
      ${line(90)}${line(70)}${line(85)}${line(60)}
    </div>`;
  }

  private empty(iconName: IconName, title: string, text: string, action?: SafeHtml): SafeHtml {
    return html`<div class="${ROOT}__empty">
      <span class="${ROOT}__empty-icon">${icon(iconName)}</span>
      ${title && html`<strong>${title}</strong>`}
      <p>${text}</p>
      ${action}
    </div>`;
  }

  /** "Sync now": the call to action of an empty pane (primary), a quiet button under a status. */
  private syncButton(primary: boolean): SafeHtml {
    const classes = [`${ROOT}__button`, `${ROOT}__button--small`, primary && `${ROOT}__button--primary`, this.syncing && `${ROOT}__button--busy`];
    return html`<button type="button" class="${classes.filter(Boolean).join(" ")}" data-kvsync-action="sync-now"${this.syncing && html` disabled`}>
      ${icon("sync", this.syncing ? `${ROOT}__icon--spin` : undefined)}<span>${this.t(this.syncing ? "pane.syncing" : "pane.sync_now")}</span>
    </button>`;
  }

  /** The last problem of the deal's sync, in plain words of the user's language. */
  private problemText(problem: SyncProblem | null): string {
    if (!problem) return "";
    if (problem.reason) return this.t(`sync_problem.${problem.reason}`);
    const known = this.texts.optional(`sync_problem.${problem.code}`);
    if (known) return known;
    // The backend says whether its sync job tries again by itself.
    return this.t(problem.retryable ? "sync_problem.temporary" : "sync_problem.other");
  }

  private render(): void {
    const data = this.data!;
    const sync = data.sync;
    const timeZone = accountTimeZone(data.timeZone);

    if (data.kommoAccess === "needs_reauth") {
      fill(
        this.$root,
        html`<div class="${ROOT}__pane-body" data-kvsync-state="needs-reauth">
          ${this.empty("plug", this.t("pane.empty.reauth_title"), this.t("sync_problem.kommo_reauth_required"))}
        </div>`,
      );
      return;
    }

    if (!data.klaviyoConnected) {
      fill(
        this.$root,
        html`<div class="${ROOT}__pane-body" data-kvsync-state="not-connected">
          ${this.empty("plug", this.t("pane.empty.not_connected_title"), this.t("pane.empty.not_connected"))}
        </div>`,
      );
      return;
    }

    if (!data.profile) {
      const reason = sync.status === "skipped" ? sync.problem?.reason : null;
      const noEmail = reason === "no_email" || reason === "no_contact" || reason === "invalid_email";
      const title = this.t(noEmail ? "pane.empty.no_email_title" : "pane.empty.never_title");
      const text =
        reason === "no_email" ? this.t("pane.empty.no_email") : !noEmail && sync.status === "never" ? this.t("pane.empty.never") : this.problemText(sync.problem);
      fill(
        this.$root,
        html`<div class="${ROOT}__pane-body" data-kvsync-state="${noEmail ? "no-email" : "not-synced"}">
          ${this.empty(noEmail ? "mail" : "sync", title, text, html`<div class="${ROOT}__empty-action">${this.syncButton(true)}</div>`)}
          ${this.noticeHtml()}
        </div>`,
      );
      return;
    }

    const profile = data.profile;
    const who = profile.email || this.t("pane.no_email_profile");
    const url = httpsUrl(profile.url);
    fill(
      this.$root,
      html`<div class="${ROOT}__pane-body" data-kvsync-state="profile">
        <div class="${ROOT}__profile">
          <span class="${ROOT}__avatar" aria-hidden="true">${initials(profile.email)}</span>
          <div class="${ROOT}__profile-text">
            <span class="${ROOT}__email" title="${who}">${who}</span>
            ${url &&
            html`<a class="${ROOT}__link" href="${url}" target="_blank" rel="noopener noreferrer" referrerpolicy="no-referrer" data-kvsync-profile-link
              >${this.t("pane.open_in_klaviyo")}${icon("external")}</a>`}
          </div>
        </div>
        <dl class="${ROOT}__facts">
          <dt>${this.t("pane.stage")}</dt>
          <dd>${profile.stage
            ? html`<span class="${ROOT}__chip ${ROOT}__chip--stage" data-kvsync-stage-name>${profile.stage}</span>`
            : html`<span class="${ROOT}__muted">${this.t("common.none")}</span>`}</dd>
          <dt>${this.t("pane.lists")}</dt>
          <dd data-kvsync-lists>${this.listChips(profile.lists)}</dd>
          <dt>${this.t("pane.consent.heading")}</dt>
          <dd data-kvsync-consent>${this.consentHtml(data.consent)}</dd>
        </dl>
        ${this.statusHtml(sync, timeZone)}
        ${this.activityHtml(data.activity, timeZone, data.activityFreshness)}
      </div>`,
    );
  }

  private consentHtml(consent: DealActivity["consent"]): SafeHtml {
    if (!consent) return html`<span class="${ROOT}__muted">${this.t("pane.consent.unknown")}</span>`;
    const tone = consent.status === "subscribed" ? "ok" : consent.status === "not_subscribed" ? "neutral" : "error";
    return html`<span class="${ROOT}__chip ${ROOT}__chip--consent-${tone}" data-kvsync-consent-status="${consent.status}">${this.texts.optional(`pane.consent.status.${consent.status}`) ?? consent.status}</span>
      <span class="${ROOT}__consent-note">${this.t(consent.canReceiveEmail ? "pane.consent.can_email" : "pane.consent.cannot_email")}</span>`;
  }

  private listChips(lists: { id: string; name: string | null }[]): SafeHtml {
    if (lists.length === 0) return html`<span class="${ROOT}__muted">${this.t("pane.no_lists")}</span>`;
    return html`${lists.map((list) => html`<span class="${ROOT}__chip" title="${list.id}">${list.name || list.id}</span>`)}`;
  }

  private noticeHtml(): SafeHtml {
    const notice = this.notice;
    return html`${notice && html`<p class="${ROOT}__notice ${ROOT}__notice--${notice.kind}" role="status" data-kvsync-notice>${notice.text}</p>`}`;
  }

  private statusHtml(sync: Sync, timeZone: string | undefined): SafeHtml {
    const state = sync.pending || this.syncing ? "pending" : sync.status;
    const label = state === "ok" ? this.t("pane.status.ok", { when: this.texts.relativeTime((sync.lastSyncedAt ?? sync.lastAttemptAt)!) }) : this.t(`pane.status.${state}`);
    const problem = sync.status !== "ok" ? this.problemText(sync.problem) : "";
    const history =
      sync.history.length > 1 &&
      html`<details class="${ROOT}__history">
        <summary>${this.t("pane.history")}</summary>
        <ol>
          ${sync.history.map(
            (entry) => html`<li>
              <span class="${ROOT}__dot ${ROOT}__dot--${entry.status}"></span>${this.t(`pane.history_status.${entry.status}`)}
              ${entry.trigger.startsWith(DP_TRIGGER) ? html`<span class="${ROOT}__muted" data-kvsync-history-dp>${this.t("pane.history_dp", { event: entry.trigger.slice(DP_TRIGGER.length) })}</span>` : ""}
              <span class="${ROOT}__muted">${this.texts.formatTime(entry.at, timeZone)}</span>
            </li>`,
          )}
        </ol>
      </details>`;
    return html`<div class="${ROOT}__status ${ROOT}__status--${state}" data-kvsync-status="${state}">
      <div class="${ROOT}__status-line">
        <span class="${ROOT}__dot ${ROOT}__dot--${state}"></span>
        <div class="${ROOT}__status-text">
          <strong>${label}</strong>
          ${sync.lastAttemptAt && html`<span class="${ROOT}__muted" title="${sync.lastAttemptAt}">${this.texts.formatTime(sync.lastAttemptAt, timeZone)}</span>`}
        </div>
      </div>
      ${problem && html`<p class="${ROOT}__problem" data-kvsync-problem>${problem}</p>`}
      ${this.noticeHtml()}
      <div class="${ROOT}__status-actions">${this.syncButton(false)}</div>
      ${history}
    </div>`;
  }

  private activityHtml(events: Activity[], timeZone: string | undefined, freshness: DealActivity["activityFreshness"] | undefined): SafeHtml {
    const readAt = freshness?.readAt;
    const head = html`<div class="${ROOT}__activity-head">
      <h4>${this.t("pane.activity")}</h4>
      ${events.length > 0 && html`<span class="${ROOT}__muted">${this.t("pane.activity_count", { count: events.length })}</span>`}
    </div>
    ${readAt &&
    html`<p class="${ROOT}__muted" data-kvsync-activity-freshness="${freshness.live ? "live" : "stored"}" title="${this.texts.formatTime(readAt, timeZone)}">
      ${this.t(freshness.live ? "pane.activity_fresh" : "pane.activity_stale", { when: this.texts.relativeTime(readAt) })}
    </p>`}`;
    if (events.length === 0) {
      return html`<div class="${ROOT}__activity">
        ${head}
        <p class="${ROOT}__activity-empty" data-kvsync-activity-empty>${icon("mail")}<span>${this.t("pane.empty.no_activity")}</span></p>
      </div>`;
    }
    return html`<div class="${ROOT}__activity">
      ${head}
      <ol class="${ROOT}__timeline" data-kvsync-activity>${events.map((event) => this.eventHtml(event, timeZone))}</ol>
    </div>`;
  }

  private eventHtml(event: Activity, timeZone: string | undefined): SafeHtml {
    const kind: EmailActivityKind = KINDS.includes(event.kind) ? event.kind : "other";
    // A sent, opened, clicked or bounced email has a subject; an unsubscribe may have none to show.
    const detail = event.subject || event.campaignOrFlow || (kind === "unsubscribed" || kind === "other" ? "" : this.t("pane.no_subject"));
    return html`<li class="${ROOT}__event ${ROOT}__event--${kind}" data-kvsync-event-kind="${kind}">
      <span class="${ROOT}__event-icon">${icon(kind)}</span>
      <div class="${ROOT}__event-text">
        <div class="${ROOT}__event-title">
          <strong>${kind === "other" ? event.metric : this.t(`pane.kinds.${kind}`)}</strong>
          <time datetime="${event.occurredAt}">${this.texts.formatTime(event.occurredAt, timeZone)}</time>
        </div>
        ${detail && html`<div class="${ROOT}__event-detail" title="${detail}">${detail}</div>`}
      </div>
    </li>`;
  }

  /** POST sync, then read the activity every 1.5 s until the job has processed the press. */
  private async syncNow(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    this.notice = null;
    this.rerender();
    const started = Date.now();
    try {
      await this.api.request("POST", `/api/widget/leads/${encodeURIComponent(this.leadId)}/sync`, {});
    } catch (error) {
      this.syncing = false;
      this.notice = { kind: "error", text: errorText(this.texts, asApiError(error)) };
      this.rerender();
      return;
    }
    const poll = () => {
      this.fetch().then(
        (data) => {
          if (data.sync.pending && Date.now() - started < SYNC_POLL_LIMIT_MS) {
            this.timers.later(poll, SYNC_POLL_MS);
            return;
          }
          this.syncing = false;
          if (data.sync.pending) this.notice = { kind: "info", text: this.t("pane.sync_slow") };
          this.rerender();
        },
        () => this.timers.later(poll, SYNC_POLL_MS * 2),
      );
    };
    this.timers.later(poll, SYNC_POLL_MS);
  }

  private rerender(): void {
    if (this.data) this.render();
  }

  destroy(): void {
    this.closed = true;
    this.$root.off(EVENT_NS);
  }
}

function initials(email: string | null): string {
  const name = (email || "?").split("@")[0]!.replace(/[^A-Za-z0-9]+/g, " ").trim().split(" ");
  return ((name[0] || "?").charAt(0) + (name.length > 1 ? name[1]!.charAt(0) : "")).toUpperCase();
}

