/*
 * Klaviyo Sync — Kommo widget.
 *
 * Two places in Kommo:
 *  - the widget settings (modal and advanced settings page): the Klaviyo private key, stage -> list
 *    mapping, event names, activity notes and the import of existing deals;
 *  - the lead card's right panel (lcard-1): the contact's Klaviyo profile, lists, recent email
 *    activity and the deal's sync status, with "Sync now".
 *
 * Everything is read from and written to the Klaviyo Sync backend through Kommo's
 * `self.$authorizedAjax`, which signs each request with a one-time token for the current user.
 * Every piece of text comes from i18n/<lang>.json; every value from the backend is escaped before
 * it is put into markup.
 */
define(['jquery'], function ($) {
  'use strict';

  // The backend this widget talks to. `npm run widget:build` writes the operator's APP_URL here.
  var BACKEND_URL = '%BACKEND_URL%';

  var ROOT = 'kvsync';
  var EVENT_NS = '.kvsync';
  var KEY_PATTERN = /^pk_[A-Za-z0-9_-]{10,200}$/;
  var EVENT_KEYS = ['dealCreated', 'stageChanged', 'dealWon', 'dealLost'];
  /** Klaviyo metric names the backend uses by default; offered again when an event is switched back on. */
  var DEFAULT_EVENT_NAMES = { dealCreated: 'Deal Created', stageChanged: 'Stage Changed', dealWon: 'Deal Won', dealLost: 'Deal Lost' };
  var SYNC_POLL_MS = 1500;
  var SYNC_POLL_LIMIT_MS = 45000;
  var BACKFILL_POLL_MS = 2000;
  /** Sync error codes that mean "wait, it is retried on its own". */
  var TEMPORARY_PROBLEMS = /^(klaviyo_(rate_limited|server_error|network|timeout|blocked|unexpected_response)|kommo_(rate_limited|blocked|network|timeout|http_5\d\d)|internal)$/;

  var ICONS = {
    received: '<path d="M3 6.5h18v11H3z"/><path d="M3 7l9 6 9-6"/>',
    opened: '<path d="M3 10l9-6 9 6v9H3z"/><path d="M3 10l9 6 9-6"/>',
    clicked: '<path d="M6 3l12 7.5-5.2 1.3L10 17z"/><path d="M12.8 11.8L17 18"/>',
    bounced: '<path d="M9 7L4 12l5 5"/><path d="M4 12h11a5 5 0 0 1 0 10h-2"/>',
    unsubscribed: '<circle cx="12" cy="12" r="8.5"/><path d="M8 12h8"/>',
    other: '<circle cx="12" cy="12" r="3"/>',
    sync: '<path d="M20 11a8 8 0 0 0-14.3-4.9L4 8"/><path d="M4 4v4h4"/><path d="M4 13a8 8 0 0 0 14.3 4.9L20 16"/><path d="M20 20v-4h-4"/>',
    external: '<path d="M14 4h6v6"/><path d="M20 4l-9 9"/><path d="M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"/>',
    check: '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
    alert: '<path d="M12 8v5"/><path d="M12 16.5v.5"/><circle cx="12" cy="12" r="9"/>',
    mail: '<path d="M3 6.5h18v11H3z"/><path d="M3 7l9 6 9-6"/>',
    plug: '<path d="M9 3v5M15 3v5M6 8h12v3a6 6 0 0 1-12 0z"/><path d="M12 17v4"/>'
  };

  function escapeHtml(value) {
    return String(value === null || value === undefined ? '' : value)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;');
  }

  function icon(name, extraClass) {
    return '<svg class="' + ROOT + '__icon' + (extraClass ? ' ' + extraClass : '') + '" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">' + ICONS[name] + '</svg>';
  }

  /** Kommo's dark theme is a darker page background; the widget follows whatever surrounds it. */
  function isDarkBackground($element) {
    var node = $element && $element[0];
    while (node && node.nodeType === 1) {
      var color = window.getComputedStyle(node).backgroundColor;
      var match = /rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)/.exec(color || '');
      if (match && (match[4] === undefined || parseFloat(match[4]) > 0.5)) {
        var luminance = (0.2126 * match[1] + 0.7152 * match[2] + 0.0722 * match[3]) / 255;
        return luminance < 0.45;
      }
      node = node.parentNode;
    }
    return false;
  }

  var CustomWidget = function () {
    var self = this;
    /** Timers and the like of whatever is on screen, cleared by destroy(). */
    var timers = [];
    var panel = null;
    var pane = null;

    // --- text ------------------------------------------------------------------------------

    /** t('panel.key.label', { hint: 'pk_…' }): a text of the user's language file. */
    function t(key, vars) {
      var parts = key.split('.');
      var value = self.i18n(parts[0]);
      for (var i = 1; i < parts.length && value !== undefined && value !== null; i++) value = value[parts[i]];
      if (typeof value !== 'string') return key;
      return value.replace(/\{(\w+)\}/g, function (whole, name) {
        return vars && vars[name] !== undefined ? String(vars[name]) : whole;
      });
    }

    function locale() {
      var tag = t('locale.tag');
      return tag === 'locale.tag' ? undefined : tag;
    }

    /** The account's time zone from the backend, else Kommo's account setting, else the browser's. */
    function timeZoneOf(data) {
      if (data && data.timeZone) return data.timeZone;
      try {
        var account = window.APP && typeof APP.constant === 'function' ? APP.constant('account') : null;
        if (account && account.timezone) return account.timezone;
      } catch (ignored) {
        // APP.constant is read-only Kommo data; when it is missing the browser's zone is used.
      }
      return undefined;
    }

    function formatTime(iso, timeZone) {
      var date = new Date(iso);
      var options = { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: timeZone };
      try {
        return new Intl.DateTimeFormat(locale(), options).format(date);
      } catch (badZone) {
        delete options.timeZone;
        return new Intl.DateTimeFormat(locale(), options).format(date);
      }
    }

    function relativeTime(iso) {
      var seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
      var steps = [['second', 60], ['minute', 60], ['hour', 24], ['day', 30], ['month', 12], ['year', Infinity]];
      var value = seconds;
      for (var i = 0; i < steps.length; i++) {
        if (Math.abs(value) < steps[i][1] || i === steps.length - 1) {
          if (steps[i][0] === 'second' && Math.abs(value) < 45) return t('pane.just_now');
          return new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' }).format(Math.round(value), steps[i][0]);
        }
        value = value / steps[i][1];
      }
      return '';
    }

    // --- backend -----------------------------------------------------------------------------

    /** One request to the backend. Resolves with the JSON answer; rejects with { status, code, message }. */
    function api(method, path, body) {
      var request = {
        url: BACKEND_URL.replace(/\/+$/, '') + path,
        method: method,
        type: method,
        dataType: 'json',
        timeout: 20000
      };
      if (body !== undefined) {
        request.data = JSON.stringify(body);
        request.contentType = 'application/json';
      }
      var deferred = $.Deferred();
      self.$authorizedAjax(request).then(
        function (data) {
          deferred.resolve(data);
        },
        function (xhr) {
          var answer = xhr && xhr.responseJSON;
          if (!answer && xhr && xhr.responseText) {
            try {
              answer = JSON.parse(xhr.responseText);
            } catch (notJson) {
              answer = null;
            }
          }
          var error = answer && answer.error ? answer.error : {};
          deferred.reject({
            status: xhr ? xhr.status : 0,
            code: error.code || (xhr && xhr.status ? 'http_' + xhr.status : 'network'),
            message: error.message || ''
          });
        }
      );
      return deferred.promise();
    }

    /** A refusal of the backend in the user's language. */
    function errorText(error) {
      var code = error && error.code;
      if (!code || code === 'network' || error.status === 0) return t('errors.network');
      if (code === 'missing_token' || code === 'invalid_token' || code === 'token_expired') return t('errors.session');
      if (code === 'klaviyo_key_rejected' && /scope/i.test(error.message || '')) return t('errors.klaviyo_key_missing_scope');
      if (code === 'invalid_settings') return t('errors.invalid_settings', { detail: error.message });
      var known = t('errors.' + code);
      return known === 'errors.' + code ? t('errors.generic', { code: code }) : known;
    }

    function later(fn, ms) {
      var id = window.setTimeout(function () {
        timers = timers.filter(function (other) { return other !== id; });
        fn();
      }, ms);
      timers.push(id);
      return id;
    }

    function loadStyles() {
      if ($('link[data-kvsync-style]').length) return;
      var params = self.params || self.get_settings() || {};
      if (!params.path) return;
      var version = params.version || (typeof self.get_version === 'function' ? self.get_version() : '');
      $('head').append('<link rel="stylesheet" data-kvsync-style href="' + escapeHtml(params.path) + '/style.css?v=' + encodeURIComponent(version || '1') + '">');
    }

    // =========================================================================================
    // Settings panel
    // =========================================================================================

    function SettingsPanel($host, layout) {
      this.layout = layout;
      this.$root = $('<div class="' + ROOT + ' ' + ROOT + '-settings ' + ROOT + '-settings--' + layout + '"></div>');
      this.state = { settings: null, pipelines: null, pipelinesError: null, lists: null, listsError: null, backfill: null, backfillAvailable: false, replacingKey: false, saving: false };
      this.$root.toggleClass(ROOT + '--dark', isDarkBackground($host));
      $host.append(this.$root);
      this.bind();
      this.load();
    }

    SettingsPanel.prototype.load = function () {
      var panelSelf = this;
      var state = this.state;
      this.$root.html(
        '<div class="' + ROOT + '__loading" role="status">' +
        '<span class="' + ROOT + '__spinner"></span>' + escapeHtml(t('common.loading')) +
        '</div>'
      );
      // Three independent reads, side by side (never one request per pipeline or list).
      var settings = api('GET', '/api/widget/settings');
      var pipelines = api('GET', '/api/widget/kommo/pipelines');
      var backfill = api('GET', '/api/widget/backfill');
      pipelines.then(
        function (answer) { state.pipelines = answer.pipelines; },
        function (error) { state.pipelinesError = error; }
      );
      backfill.then(
        function (answer) { state.backfill = answer; state.backfillAvailable = true; },
        function (error) { state.backfillAvailable = error.code === 'no_backfill'; }
      );
      settings.then(
        function (answer) {
          state.settings = answer;
          var lists = answer.klaviyo.connected ? panelSelf.loadLists() : $.Deferred().resolve().promise();
          $.when(always(pipelines), always(backfill), always(lists)).then(function () {
            panelSelf.render();
            panelSelf.watchBackfill();
          });
        },
        function (error) {
          panelSelf.$root.html(
            '<div class="' + ROOT + '__state ' + ROOT + '__state--error">' + icon('alert') +
            '<div><strong>' + escapeHtml(t('panel.load_failed')) + '</strong><p>' + escapeHtml(errorText(error)) + '</p>' +
            '<button type="button" class="' + ROOT + '__button" data-kvsync-action="reload">' + escapeHtml(t('common.retry')) + '</button></div></div>'
          );
        }
      );
    };

    /** A promise that settles as resolved either way, for "wait for all of these". */
    function always(promise) {
      var done = $.Deferred();
      promise.then(function () { done.resolve(); }, function () { done.resolve(); });
      return done.promise();
    }

    SettingsPanel.prototype.loadLists = function () {
      var state = this.state;
      state.listsError = null;
      return api('GET', '/api/widget/klaviyo/lists').then(
        function (answer) { state.lists = answer.lists; },
        function (error) { state.lists = null; state.listsError = error; }
      );
    };

    SettingsPanel.prototype.render = function () {
      var state = this.state;
      // Kommo's modal already shows the widget's name and description above the panel.
      var header = this.layout !== 'page' ? '' :
        '<header class="' + ROOT + '__header">' +
        '<div class="' + ROOT + '__brand">' + icon('sync') + '</div>' +
        '<div class="' + ROOT + '__header-text"><h2 class="' + ROOT + '__title">' + escapeHtml(t('panel.title')) + '</h2>' +
        '<p class="' + ROOT + '__subtitle">' + escapeHtml(t('panel.subtitle')) + '</p></div>' +
        '<div class="' + ROOT + '__header-actions">' +
        '<button type="button" class="' + ROOT + '__button" data-kvsync-action="open-dashboard">' + escapeHtml(t('panel.dashboard.open')) + '</button>' +
        '<p class="' + ROOT + '__help">' + escapeHtml(t('panel.dashboard.help')) + '</p>' +
        '<p class="' + ROOT + '__field-error" data-kvsync-dashboard-error role="alert" hidden></p>' +
        '</div>' +
        '</header>';
      var html =
        header +
        this.keySection() +
        this.listsSection() +
        this.eventsSection() +
        this.notesSection() +
        (state.backfillAvailable ? this.backfillSection() : '') +
        '<footer class="' + ROOT + '__footer">' +
        '<div class="' + ROOT + '__footer-message" data-kvsync-footer role="status" aria-live="polite"></div>' +
        '<button type="button" class="' + ROOT + '__button ' + ROOT + '__button--primary" data-kvsync-action="save">' + escapeHtml(t('common.save')) + '</button>' +
        '</footer>';
      this.$root.html(html);
    };

    SettingsPanel.prototype.keySection = function () {
      var klaviyo = this.state.settings.klaviyo;
      var connected = klaviyo.connected && !this.state.replacingKey;
      var body;
      if (connected) {
        body =
          '<div class="' + ROOT + '__connection ' + ROOT + '__connection--ok" data-kvsync-connection>' +
          '<span class="' + ROOT + '__connection-icon">' + icon('check') + '</span>' +
          '<div class="' + ROOT + '__connection-text"><strong>' +
          escapeHtml(klaviyo.accountName ? t('panel.key.connected', { account: klaviyo.accountName }) : t('panel.key.connected_unnamed')) +
          '</strong><span class="' + ROOT + '__muted">' + escapeHtml(t('panel.key.key_hint', { hint: klaviyo.keyHint || '' })) + '</span></div>' +
          '<button type="button" class="' + ROOT + '__button ' + ROOT + '__button--ghost" data-kvsync-action="replace-key">' + escapeHtml(t('panel.key.replace')) + '</button>' +
          '</div>';
      } else {
        body =
          (klaviyo.connected ? '' : '<p class="' + ROOT + '__notice">' + icon('plug') + escapeHtml(t('panel.key.not_connected')) + '</p>') +
          '<label class="' + ROOT + '__label" for="kvsync-key">' + escapeHtml(t('panel.key.label')) + '</label>' +
          '<div class="' + ROOT + '__key-row">' +
          '<input id="kvsync-key" class="' + ROOT + '__input ' + ROOT + '__input--mono" type="password" autocomplete="off" spellcheck="false" data-kvsync-key placeholder="' + escapeHtml(t('panel.key.placeholder')) + '">' +
          '<button type="button" class="' + ROOT + '__button ' + ROOT + '__button--ghost" data-kvsync-action="toggle-key">' + escapeHtml(t('panel.key.show')) + '</button>' +
          (klaviyo.connected ? '<button type="button" class="' + ROOT + '__button ' + ROOT + '__button--ghost" data-kvsync-action="cancel-replace">' + escapeHtml(t('common.cancel')) + '</button>' : '') +
          '</div>' +
          '<p class="' + ROOT + '__field-error" data-kvsync-key-error role="alert" hidden></p>' +
          '<p class="' + ROOT + '__help">' + escapeHtml(t('panel.key.help')) + '</p>';
      }
      return section('key', t('panel.key.heading'), '', body);
    };

    function section(name, heading, help, body) {
      return '<section class="' + ROOT + '__section" data-kvsync-section="' + name + '">' +
        '<h3 class="' + ROOT + '__section-title">' + escapeHtml(heading) + '</h3>' +
        (help ? '<p class="' + ROOT + '__help">' + escapeHtml(help) + '</p>' : '') +
        body + '</section>';
    }

    function listOptions(lists, selected) {
      var html = '<option value="">' + escapeHtml(t('panel.lists.no_list')) + '</option>';
      var found = !selected;
      for (var i = 0; i < lists.length; i++) {
        var list = lists[i];
        if (list.id === selected) found = true;
        html += '<option value="' + escapeHtml(list.id) + '"' + (list.id === selected ? ' selected' : '') + '>' +
          escapeHtml(list.name) + (list.doubleOptIn ? ' (' + escapeHtml(t('panel.lists.double_opt_in')) + ')' : '') + '</option>';
      }
      // A mapped list that Klaviyo no longer has stays visible instead of silently dropped.
      if (!found) html += '<option value="' + escapeHtml(selected) + '" selected>' + escapeHtml(t('panel.lists.missing_list', { id: selected })) + '</option>';
      return html;
    }

    SettingsPanel.prototype.listsEditable = function () {
      return Boolean(this.state.lists && this.state.pipelines);
    };

    SettingsPanel.prototype.listsSection = function () {
      var state = this.state;
      var settings = state.settings;
      var body = '';
      if (!settings.klaviyo.connected) {
        body += '<p class="' + ROOT + '__notice">' + escapeHtml(t('panel.lists.connect_first')) + '</p>';
      } else if (state.listsError) {
        body += '<p class="' + ROOT + '__notice ' + ROOT + '__notice--error">' + icon('alert') + escapeHtml(t('panel.lists.lists_failed') + ' ' + errorText(state.listsError)) + '</p>';
      }
      if (state.pipelinesError) {
        body += '<p class="' + ROOT + '__notice ' + ROOT + '__notice--error">' + icon('alert') + escapeHtml(t('panel.lists.pipelines_failed') + ' ' + errorText(state.pipelinesError)) + '</p>';
      } else if (state.pipelines && state.pipelines.length === 0) {
        body += '<p class="' + ROOT + '__notice">' + escapeHtml(t('panel.lists.no_pipelines')) + '</p>';
      }
      var editable = this.listsEditable();
      var lists = state.lists || [];
      var mapped = {};
      for (var m = 0; m < settings.stageLists.length; m++) {
        var entry = settings.stageLists[m];
        mapped[entry.pipelineId + ':' + entry.statusId] = entry.listId;
      }
      var pipelines = state.pipelines || [];
      for (var p = 0; p < pipelines.length; p++) {
        var pipeline = pipelines[p];
        body += '<div class="' + ROOT + '__pipeline"><div class="' + ROOT + '__pipeline-name">' + escapeHtml(pipeline.name) + '</div>' +
          '<table class="' + ROOT + '__table"><thead><tr><th>' + escapeHtml(t('panel.lists.stage')) + '</th><th>' + escapeHtml(t('panel.lists.list')) + '</th></tr></thead><tbody>';
        for (var s = 0; s < pipeline.stages.length; s++) {
          var stage = pipeline.stages[s];
          var key = pipeline.id + ':' + stage.id;
          var fieldId = 'kvsync-stage-' + pipeline.id + '-' + stage.id;
          body += '<tr><td><label for="' + fieldId + '">' + escapeHtml(stage.name) + '</label></td><td>' +
            '<select id="' + fieldId + '" class="' + ROOT + '__select" data-kvsync-stage="' + escapeHtml(key) + '"' + (editable ? '' : ' disabled') + '>' +
            listOptions(lists, mapped[key] || '') + '</select></td></tr>';
        }
        body += '</tbody></table></div>';
      }
      body +=
        '<div class="' + ROOT + '__row">' +
        '<label class="' + ROOT + '__label" for="kvsync-all-deals">' + escapeHtml(t('panel.lists.all_deals')) + '</label>' +
        '<select id="kvsync-all-deals" class="' + ROOT + '__select" data-kvsync-all-deals' + (state.lists ? '' : ' disabled') + '>' + listOptions(lists, settings.allDealsListId || '') + '</select>' +
        '<p class="' + ROOT + '__help">' + escapeHtml(t('panel.lists.all_deals_help')) + '</p>' +
        '</div>' +
        toggle('kvsync-remove-previous', 'data-kvsync-remove-previous', settings.removeFromPreviousList, t('panel.lists.remove_previous'));
      return section('lists', t('panel.lists.heading'), t('panel.lists.help'), body);
    };

    function toggle(id, attribute, checked, label, extra) {
      return '<label class="' + ROOT + '__toggle" for="' + id + '">' +
        '<input type="checkbox" id="' + id + '" ' + attribute + (checked ? ' checked' : '') + (extra || '') + '>' +
        '<span class="' + ROOT + '__switch" aria-hidden="true"></span>' +
        '<span class="' + ROOT + '__toggle-label">' + escapeHtml(label) + '</span></label>';
    }

    SettingsPanel.prototype.eventsSection = function () {
      var events = this.state.settings.events;
      var body = '<div class="' + ROOT + '__events">';
      for (var i = 0; i < EVENT_KEYS.length; i++) {
        var key = EVENT_KEYS[i];
        var name = events[key];
        var on = name !== null && name !== undefined;
        body += '<div class="' + ROOT + '__event-row" data-kvsync-event="' + key + '">' +
          toggle('kvsync-event-' + key, 'data-kvsync-event-on', on, t('panel.events.' + key)) +
          '<input type="text" class="' + ROOT + '__input" maxlength="127" aria-label="' + escapeHtml(t('panel.events.name_label')) + '" data-kvsync-event-name value="' + escapeHtml(on ? name : DEFAULT_EVENT_NAMES[key]) + '"' + (on ? '' : ' disabled') + '>' +
          '<p class="' + ROOT + '__field-error" data-kvsync-event-error role="alert" hidden></p>' +
          '</div>';
      }
      body += '</div>';
      return section('events', t('panel.events.heading'), t('panel.events.help'), body);
    };

    SettingsPanel.prototype.notesSection = function () {
      var body = toggle('kvsync-notes', 'data-kvsync-notes', this.state.settings.activityNotes, t('panel.notes.label')) +
        '<p class="' + ROOT + '__help">' + escapeHtml(t('panel.notes.help')) + '</p>';
      return section('notes', t('panel.notes.heading'), '', body);
    };

    SettingsPanel.prototype.backfillSection = function () {
      return section('backfill', t('panel.backfill.heading'), t('panel.backfill.help'),
        '<div class="' + ROOT + '__backfill" data-kvsync-backfill>' + this.backfillBody() + '</div>');
    };

    SettingsPanel.prototype.backfillBody = function () {
      var run = this.state.backfill;
      var active = run && (run.status === 'queued' || run.status === 'running');
      var status = t('panel.backfill.idle');
      var percent = 0;
      if (run) {
        var total = typeof run.total === 'number' ? run.total : null;
        percent = run.status === 'completed' ? 100 : total ? Math.min(100, Math.round((run.done / total) * 100)) : 0;
        if (run.status === 'queued') status = t('panel.backfill.queued');
        else if (run.status === 'running') status = total ? t('panel.backfill.running', { done: run.done, total: total }) : t('panel.backfill.running_unknown', { done: run.done });
        else if (run.status === 'completed') status = t('panel.backfill.completed', { done: run.done });
        else if (run.status === 'failed') status = t('panel.backfill.failed', { error: run.lastError || '' });
      }
      return (run ? '<div class="' + ROOT + '__progress' + (run.status === 'failed' ? ' ' + ROOT + '__progress--failed' : '') + '" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="' + percent + '"><span style="width:' + percent + '%"></span></div>' : '') +
        '<div class="' + ROOT + '__backfill-row"><span class="' + ROOT + '__backfill-status" data-kvsync-backfill-status>' + escapeHtml(status) +
        (run && run.errors ? ' · ' + escapeHtml(t('panel.backfill.errors', { count: run.errors })) : '') + '</span>' +
        '<button type="button" class="' + ROOT + '__button" data-kvsync-action="start-backfill"' + (active ? ' disabled' : '') + '>' + escapeHtml(t('panel.backfill.start')) + '</button></div>' +
        '<p class="' + ROOT + '__field-error" data-kvsync-backfill-error role="alert" hidden></p>';
    };

    SettingsPanel.prototype.renderBackfill = function () {
      this.$root.find('[data-kvsync-backfill]').html(this.backfillBody());
    };

    /** While an import runs, its progress is read every few seconds, one request at a time. */
    SettingsPanel.prototype.watchBackfill = function () {
      var panelSelf = this;
      var run = this.state.backfill;
      if (!run || (run.status !== 'queued' && run.status !== 'running') || this.watching) return;
      this.watching = true;
      later(function () {
        api('GET', '/api/widget/backfill').then(
          function (answer) {
            panelSelf.watching = false;
            panelSelf.state.backfill = answer;
            panelSelf.renderBackfill();
            panelSelf.watchBackfill();
          },
          function () {
            panelSelf.watching = false;
            panelSelf.watchBackfill();
          }
        );
      }, BACKFILL_POLL_MS);
    };

    SettingsPanel.prototype.startBackfill = function () {
      var panelSelf = this;
      var $button = this.$root.find('[data-kvsync-action="start-backfill"]');
      $button.prop('disabled', true).text(t('panel.backfill.starting'));
      api('POST', '/api/widget/backfill', {}).then(
        function (answer) {
          panelSelf.state.backfill = { id: answer.id, status: answer.status, done: 0, total: null, errors: 0, lastError: null };
          panelSelf.renderBackfill();
          panelSelf.watchBackfill();
        },
        function (error) {
          panelSelf.renderBackfill();
          panelSelf.$root.find('[data-kvsync-backfill-error]').text(errorText(error)).prop('hidden', false);
        }
      );
    };

    /**
     * The dashboard (sync log, failures, replay) in a new tab, signed in as this admin through a
     * one-minute link. Browsers block a tab opened after an asynchronous call, so the click opens
     * the tab and the answer fills it in.
     */
    SettingsPanel.prototype.openDashboard = function () {
      var tab = window.open('', '_blank');
      if (tab) tab.opener = null;
      var $error = this.$root.find('[data-kvsync-dashboard-error]').prop('hidden', true);
      api('POST', '/api/widget/dashboard-link', {}).then(
        function (answer) {
          if (tab) tab.location.href = answer.url;
          else window.open(answer.url, '_blank', 'noopener');
        },
        function (error) {
          if (tab) tab.close();
          $error.text(errorText(error)).prop('hidden', false);
        }
      );
    };

    SettingsPanel.prototype.bind = function () {
      var panelSelf = this;
      var $root = this.$root;
      $root.on('click' + EVENT_NS, '[data-kvsync-action]', function (event) {
        event.preventDefault();
        var action = $(this).attr('data-kvsync-action');
        if (action === 'save') panelSelf.save();
        else if (action === 'reload') panelSelf.load();
        else if (action === 'start-backfill') panelSelf.startBackfill();
        else if (action === 'open-dashboard') panelSelf.openDashboard();
        else if (action === 'replace-key' || action === 'cancel-replace') {
          panelSelf.state.replacingKey = action === 'replace-key';
          $root.find('[data-kvsync-section="key"]').replaceWith(panelSelf.keySection());
          if (panelSelf.state.replacingKey) $root.find('[data-kvsync-key]').trigger('focus');
        } else if (action === 'toggle-key') {
          var $key = $root.find('[data-kvsync-key]');
          var hidden = $key.attr('type') === 'password';
          $key.attr('type', hidden ? 'text' : 'password');
          $(this).text(t(hidden ? 'panel.key.hide' : 'panel.key.show'));
        }
      });
      $root.on('change' + EVENT_NS, '[data-kvsync-event-on]', function () {
        var $row = $(this).closest('[data-kvsync-event]');
        $row.find('[data-kvsync-event-name]').prop('disabled', !this.checked);
        $row.find('[data-kvsync-event-error]').prop('hidden', true);
      });
      $root.on('input' + EVENT_NS, '[data-kvsync-key]', function () {
        $root.find('[data-kvsync-key-error]').prop('hidden', true);
        $(this).removeClass(ROOT + '__input--invalid');
      });
    };

    /** The settings body from the form; null (with the problems shown inline) when the form is not valid. */
    SettingsPanel.prototype.collect = function () {
      var $root = this.$root;
      var body = {};
      var valid = true;
      var $key = $root.find('[data-kvsync-key]');
      var key = $key.length ? $.trim($key.val()) : '';
      if (key) {
        if (!KEY_PATTERN.test(key)) {
          showKeyError($root, t('errors.key_format'));
          valid = false;
        } else {
          body.klaviyoApiKey = key;
        }
      }
      if (this.listsEditable()) {
        body.stageLists = [];
        $root.find('[data-kvsync-stage]').each(function () {
          var listId = $(this).val();
          if (!listId) return;
          var ids = $(this).attr('data-kvsync-stage').split(':');
          body.stageLists.push({ pipelineId: Number(ids[0]), statusId: Number(ids[1]), listId: listId });
        });
      }
      if (this.state.lists) body.allDealsListId = $root.find('[data-kvsync-all-deals]').val() || null;
      body.removeFromPreviousList = $root.find('[data-kvsync-remove-previous]').prop('checked');
      body.events = {};
      $root.find('[data-kvsync-event]').each(function () {
        var $row = $(this);
        var on = $row.find('[data-kvsync-event-on]').prop('checked');
        var name = $.trim($row.find('[data-kvsync-event-name]').val());
        var problem = !on ? '' : !name ? t('errors.event_name_empty') : name.length > 127 ? t('errors.event_name_long') : '';
        $row.find('[data-kvsync-event-error]').text(problem).prop('hidden', !problem);
        if (problem) valid = false;
        body.events[$row.attr('data-kvsync-event')] = on ? name : null;
      });
      body.activityNotes = $root.find('[data-kvsync-notes]').prop('checked');
      return valid ? body : null;
    };

    function showKeyError($root, message) {
      $root.find('[data-kvsync-key-error]').text(message).prop('hidden', false);
      $root.find('[data-kvsync-key]').addClass(ROOT + '__input--invalid');
    }

    SettingsPanel.prototype.footer = function (kind, message) {
      this.$root.find('[data-kvsync-footer]')
        .attr('class', ROOT + '__footer-message' + (kind ? ' ' + ROOT + '__footer-message--' + kind : ''))
        .html(message ? icon(kind === 'ok' ? 'check' : 'alert') + '<span>' + escapeHtml(message) + '</span>' : '');
    };

    /** Save the form (PUT). Resolves when saved; rejects, with the reason shown inline, otherwise. */
    SettingsPanel.prototype.save = function () {
      var panelSelf = this;
      var done = $.Deferred();
      if (this.state.saving || !this.state.settings) return done.reject().promise();
      var body = this.collect();
      if (!body) {
        this.footer('error', t('panel.footer.not_saved'));
        return done.reject().promise();
      }
      var wasConnected = this.state.settings.klaviyo.connected;
      var $save = this.$root.find('[data-kvsync-action="save"]');
      this.state.saving = true;
      $save.prop('disabled', true).addClass(ROOT + '__button--busy').text(t('common.saving'));
      this.footer('', '');
      api('PUT', '/api/widget/settings', body).then(
        function (saved) {
          panelSelf.state.saving = false;
          panelSelf.state.settings = saved;
          panelSelf.state.replacingKey = false;
          // A key that just connected (or changed) brings its own lists.
          var lists = body.klaviyoApiKey || !wasConnected ? panelSelf.loadLists() : $.Deferred().resolve().promise();
          always(lists).then(function () {
            panelSelf.render();
            panelSelf.footer('ok', t('common.saved'));
            done.resolve();
          });
        },
        function (error) {
          panelSelf.state.saving = false;
          $save.prop('disabled', false).removeClass(ROOT + '__button--busy').text(t('common.save'));
          var message = errorText(error);
          if (error.code === 'klaviyo_key_rejected' || error.code === 'klaviyo_unavailable') showKeyError(panelSelf.$root, message);
          panelSelf.footer('error', error.code === 'klaviyo_key_rejected' ? t('panel.footer.not_saved') : message);
          done.reject(error);
        }
      );
      return done.promise();
    };

    SettingsPanel.prototype.destroy = function () {
      this.$root.off(EVENT_NS).remove();
    };

    // =========================================================================================
    // Deal card pane
    // =========================================================================================

    function DealPane($root, leadId) {
      this.$root = $root;
      this.leadId = leadId;
      this.data = null;
      this.syncing = false;
      this.notice = null;
      this.$root.toggleClass(ROOT + '--dark', isDarkBackground($root.parent()));
      this.bind();
      this.load();
    }

    DealPane.prototype.bind = function () {
      var paneSelf = this;
      this.$root.on('click' + EVENT_NS, '[data-kvsync-action]', function (event) {
        event.preventDefault();
        var action = $(this).attr('data-kvsync-action');
        if (action === 'sync-now') paneSelf.syncNow();
        else if (action === 'reload') paneSelf.load();
      });
    };

    DealPane.prototype.load = function () {
      var paneSelf = this;
      if (!this.leadId) {
        this.$root.html(emptyState('plug', '', t('pane.new_card'), ''));
        return;
      }
      this.$root.html(skeleton());
      this.fetch().then(
        function () { paneSelf.render(); },
        function (error) {
          paneSelf.$root.html(
            '<div class="' + ROOT + '__state ' + ROOT + '__state--error" data-kvsync-state="error">' + icon('alert') +
            '<div><strong>' + escapeHtml(t('pane.load_failed')) + '</strong><p>' + escapeHtml(errorText(error)) + '</p>' +
            '<button type="button" class="' + ROOT + '__button" data-kvsync-action="reload">' + escapeHtml(t('common.retry')) + '</button></div></div>'
          );
        }
      );
    };

    DealPane.prototype.fetch = function () {
      var paneSelf = this;
      return api('GET', '/api/widget/leads/' + encodeURIComponent(this.leadId) + '/activity').then(function (data) {
        paneSelf.data = data;
        return data;
      });
    };

    function skeleton() {
      var line = function (width) { return '<span class="' + ROOT + '__skeleton" style="width:' + width + '%"></span>'; };
      return '<div class="' + ROOT + '__loading-pane" data-kvsync-state="loading" aria-busy="true" aria-label="' + escapeHtml(t('common.loading')) + '">' +
        '<div class="' + ROOT + '__skeleton-head"><span class="' + ROOT + '__skeleton ' + ROOT + '__skeleton--round"></span><div>' + line(80) + line(50) + '</div></div>' +
        line(90) + line(70) + line(85) + line(60) + '</div>';
    }

    function emptyState(iconName, title, text, action) {
      return '<div class="' + ROOT + '__empty">' +
        '<span class="' + ROOT + '__empty-icon">' + icon(iconName) + '</span>' +
        (title ? '<strong>' + escapeHtml(title) + '</strong>' : '') +
        '<p>' + escapeHtml(text) + '</p>' + (action || '') + '</div>';
    }

    /** "Sync now": the call to action of an empty pane (primary), a quiet button under a status. */
    DealPane.prototype.syncButton = function (primary) {
      return '<button type="button" class="' + ROOT + '__button ' + ROOT + '__button--small' + (primary ? ' ' + ROOT + '__button--primary' : '') + (this.syncing ? ' ' + ROOT + '__button--busy' : '') + '" data-kvsync-action="sync-now"' + (this.syncing ? ' disabled' : '') + '>' +
        icon('sync', this.syncing ? ROOT + '__icon--spin' : '') + '<span>' + escapeHtml(t(this.syncing ? 'pane.syncing' : 'pane.sync_now')) + '</span></button>';
    };

    /** The last problem of the deal's sync, in plain words of the user's language. */
    function problemText(problem, status) {
      if (!problem) return '';
      if (problem.code === 'skipped') return t('sync_problem.' + (problem.reason || 'other'));
      var known = t('sync_problem.' + problem.code);
      if (known !== 'sync_problem.' + problem.code) return known;
      if (status === 'retrying' || TEMPORARY_PROBLEMS.test(problem.code)) return t('sync_problem.temporary');
      return t('sync_problem.other');
    }

    DealPane.prototype.render = function () {
      var data = this.data;
      var sync = data.sync;
      var timeZone = timeZoneOf(data);
      var noEmail = sync.status === 'skipped' && sync.problem && (sync.problem.reason === 'no_email' || sync.problem.reason === 'no_contact' || sync.problem.reason === 'invalid_email');
      var html = '';

      if (!data.klaviyoConnected) {
        html = emptyState('plug', t('pane.empty.not_connected_title'), t('pane.empty.not_connected'), '');
        this.$root.html('<div class="' + ROOT + '__pane-body" data-kvsync-state="not-connected">' + html + '</div>');
        return;
      }

      if (!data.profile) {
        var title = noEmail ? t('pane.empty.no_email_title') : t('pane.empty.never_title');
        var text = noEmail ? (sync.problem.reason === 'no_email' ? t('pane.empty.no_email') : problemText(sync.problem, sync.status)) : sync.status === 'never' ? t('pane.empty.never') : problemText(sync.problem, sync.status);
        html = emptyState(noEmail ? 'mail' : 'sync', title, text, '<div class="' + ROOT + '__empty-action">' + this.syncButton(true) + '</div>') + this.noticeHtml();
        this.$root.html('<div class="' + ROOT + '__pane-body" data-kvsync-state="' + (noEmail ? 'no-email' : 'not-synced') + '">' + html + '</div>');
        return;
      }

      var profile = data.profile;
      var who = profile.email || t('pane.no_email_profile');
      html += '<div class="' + ROOT + '__profile">' +
        '<span class="' + ROOT + '__avatar" aria-hidden="true">' + escapeHtml(initials(profile.email)) + '</span>' +
        '<div class="' + ROOT + '__profile-text"><span class="' + ROOT + '__email" title="' + escapeHtml(who) + '">' + escapeHtml(who) + '</span>' +
        '<a class="' + ROOT + '__link" href="' + escapeHtml(profile.url) + '" target="_blank" rel="noopener noreferrer" referrerpolicy="no-referrer" data-kvsync-profile-link>' +
        escapeHtml(t('pane.open_in_klaviyo')) + icon('external') + '</a></div></div>';

      html += '<dl class="' + ROOT + '__facts">' +
        '<dt>' + escapeHtml(t('pane.stage')) + '</dt><dd>' + (profile.stage ? '<span class="' + ROOT + '__chip ' + ROOT + '__chip--stage" data-kvsync-stage-name>' + escapeHtml(profile.stage) + '</span>' : '<span class="' + ROOT + '__muted">' + escapeHtml(t('common.none')) + '</span>') + '</dd>' +
        '<dt>' + escapeHtml(t('pane.lists')) + '</dt><dd data-kvsync-lists>' + listChips(profile.lists) + '</dd></dl>';

      html += this.statusHtml(timeZone);
      html += this.activityHtml(timeZone);
      this.$root.html('<div class="' + ROOT + '__pane-body" data-kvsync-state="profile">' + html + '</div>');
    };

    function initials(email) {
      var name = (email || '?').split('@')[0].replace(/[^A-Za-z0-9]+/g, ' ').trim().split(' ');
      return ((name[0] || '?').charAt(0) + (name.length > 1 ? name[1].charAt(0) : '')).toUpperCase();
    }

    function listChips(lists) {
      if (!lists || lists.length === 0) return '<span class="' + ROOT + '__muted">' + escapeHtml(t('pane.no_lists')) + '</span>';
      var html = '';
      for (var i = 0; i < lists.length; i++) html += '<span class="' + ROOT + '__chip" title="' + escapeHtml(lists[i].id) + '">' + escapeHtml(lists[i].name || lists[i].id) + '</span>';
      return html;
    }

    DealPane.prototype.noticeHtml = function () {
      return this.notice ? '<p class="' + ROOT + '__notice ' + ROOT + '__notice--' + this.notice.kind + '" role="status" data-kvsync-notice>' + escapeHtml(this.notice.text) + '</p>' : '';
    };

    DealPane.prototype.statusHtml = function (timeZone) {
      var sync = this.data.sync;
      var state = sync.pending || this.syncing ? 'pending' : sync.status;
      var label = state === 'ok' ? t('pane.status.ok', { when: relativeTime(sync.lastSyncedAt || sync.lastAttemptAt) }) : t('pane.status.' + state);
      var when = sync.lastAttemptAt ? '<span class="' + ROOT + '__muted" title="' + escapeHtml(sync.lastAttemptAt) + '">' + escapeHtml(formatTime(sync.lastAttemptAt, timeZone)) + '</span>' : '';
      var problem = sync.status !== 'ok' ? problemText(sync.problem, sync.status) : '';
      var history = '';
      if (sync.history && sync.history.length > 1) {
        history = '<details class="' + ROOT + '__history"><summary>' + escapeHtml(t('pane.history')) + '</summary><ol>';
        for (var i = 0; i < sync.history.length; i++) {
          var entry = sync.history[i];
          history += '<li><span class="' + ROOT + '__dot ' + ROOT + '__dot--' + entry.status + '"></span>' + escapeHtml(t('pane.history_status.' + entry.status)) +
            '<span class="' + ROOT + '__muted">' + escapeHtml(formatTime(entry.at, timeZone)) + '</span></li>';
        }
        history += '</ol></details>';
      }
      return '<div class="' + ROOT + '__status ' + ROOT + '__status--' + state + '" data-kvsync-status="' + state + '">' +
        '<div class="' + ROOT + '__status-line"><span class="' + ROOT + '__dot ' + ROOT + '__dot--' + state + '"></span>' +
        '<div class="' + ROOT + '__status-text"><strong>' + escapeHtml(label) + '</strong>' + when + '</div></div>' +
        (problem ? '<p class="' + ROOT + '__problem" data-kvsync-problem>' + escapeHtml(problem) + '</p>' : '') +
        this.noticeHtml() +
        '<div class="' + ROOT + '__status-actions">' + this.syncButton(false) + '</div>' + history + '</div>';
    };

    DealPane.prototype.activityHtml = function (timeZone) {
      var events = this.data.activity;
      var html = '<div class="' + ROOT + '__activity"><div class="' + ROOT + '__activity-head"><h4>' + escapeHtml(t('pane.activity')) + '</h4>' +
        (events.length ? '<span class="' + ROOT + '__muted">' + escapeHtml(t('pane.activity_count', { count: events.length })) + '</span>' : '') + '</div>';
      if (events.length === 0) {
        return html + '<p class="' + ROOT + '__activity-empty" data-kvsync-activity-empty>' + icon('mail') + '<span>' + escapeHtml(t('pane.empty.no_activity')) + '</span></p></div>';
      }
      html += '<ol class="' + ROOT + '__timeline" data-kvsync-activity>';
      for (var i = 0; i < events.length; i++) {
        var event = events[i];
        // A sent, opened, clicked or bounced email has a subject; an unsubscribe may have none to show.
        var detail = event.subject || event.campaignOrFlow || (event.kind === 'unsubscribed' || event.kind === 'other' ? '' : t('pane.no_subject'));
        html += '<li class="' + ROOT + '__event ' + ROOT + '__event--' + event.kind + '" data-kvsync-event-kind="' + event.kind + '">' +
          '<span class="' + ROOT + '__event-icon">' + icon(ICONS[event.kind] ? event.kind : 'other') + '</span>' +
          '<div class="' + ROOT + '__event-text"><div class="' + ROOT + '__event-title"><strong>' + escapeHtml(event.kind === 'other' ? event.metric : t('pane.kinds.' + event.kind)) + '</strong>' +
          '<time datetime="' + escapeHtml(event.occurredAt) + '">' + escapeHtml(formatTime(event.occurredAt, timeZone)) + '</time></div>' +
          (detail ? '<div class="' + ROOT + '__event-detail" title="' + escapeHtml(detail) + '">' + escapeHtml(detail) + '</div>' : '') + '</div></li>';
      }
      return html + '</ol></div>';
    };

    /** POST sync, then read the activity every 1.5 s until the job has processed the press. */
    DealPane.prototype.syncNow = function () {
      var paneSelf = this;
      if (this.syncing) return;
      this.syncing = true;
      this.notice = null;
      this.rerender();
      var started = Date.now();
      api('POST', '/api/widget/leads/' + encodeURIComponent(this.leadId) + '/sync', {}).then(
        function () {
          var poll = function () {
            paneSelf.fetch().then(
              function (data) {
                if (data.sync.pending && Date.now() - started < SYNC_POLL_LIMIT_MS) {
                  later(poll, SYNC_POLL_MS);
                  return;
                }
                paneSelf.syncing = false;
                if (data.sync.pending) paneSelf.notice = { kind: 'info', text: t('pane.sync_slow') };
                paneSelf.rerender();
              },
              function () {
                later(poll, SYNC_POLL_MS * 2);
              }
            );
          };
          later(poll, SYNC_POLL_MS);
        },
        function (error) {
          paneSelf.syncing = false;
          paneSelf.notice = { kind: 'error', text: errorText(error) };
          paneSelf.rerender();
        }
      );
    };

    DealPane.prototype.rerender = function () {
      if (this.data) this.render();
    };

    DealPane.prototype.destroy = function () {
      this.$root.off(EVENT_NS);
    };

    // =========================================================================================
    // Kommo callbacks
    // =========================================================================================

    function area() {
      var system = typeof self.system === 'function' ? self.system() : {};
      return (system && system.area) || '';
    }

    function currentLeadId() {
      var card = window.APP && APP.data && APP.data.current_card;
      var id = card ? Number(card.id) : 0;
      return id > 0 ? id : 0;
    }

    this.callbacks = {
      render: function () {
        loadStyles();
        if (area() === 'lcard') {
          self.render_template({
            caption: { class_name: ROOT + '-caption' },
            body: '',
            render: '<div class="' + ROOT + ' ' + ROOT + '-pane" data-kvsync-pane></div>'
          });
        }
        return true;
      },
      init: function () {
        if (area() === 'lcard') {
          var $root = $('[data-kvsync-pane]').last();
          if ($root.length) {
            if (pane) pane.destroy();
            pane = new DealPane($root, currentLeadId());
          }
        }
        return true;
      },
      bind_actions: function () {
        // Every handler is delegated from the widget's own roots (bound when they are drawn).
        return true;
      },
      settings: function ($modalBody) {
        loadStyles();
        var $host = $modalBody && $modalBody.jquery ? $modalBody : $('.widget-settings__modal, .modal-body').last();
        var $fields = $host.find('.widget_settings_block__fields').first();
        if (panel) panel.destroy();
        panel = new SettingsPanel($fields.length ? $fields : $host, 'modal');
        return true;
      },
      advancedSettings: function () {
        loadStyles();
        var code = (self.get_settings() || {}).widget_code;
        var $page = $('#work-area-' + code);
        if (panel) panel.destroy();
        panel = new SettingsPanel($page.length ? $page : $('#work-area'), 'page');
        return true;
      },
      onSave: function () {
        // Kommo's own Save (and Install) also saves what is in the panel; without a panel there is
        // nothing of ours to save.
        if (!panel || !panel.state.settings) return true;
        var result = $.Deferred();
        panel.save().then(function () { result.resolve(true); }, function () { result.reject(); });
        return result.promise();
      },
      destroy: function () {
        for (var i = 0; i < timers.length; i++) window.clearTimeout(timers[i]);
        timers = [];
        if (panel) panel.destroy();
        if (pane) pane.destroy();
        panel = null;
        pane = null;
      }
    };
    return this;
  };

  return CustomWidget;
});
