// The part of Kommo's page that a widget relies on, for browser tests: a RequireJS-style `define`
// (with 'jquery' resolved to the page's jQuery), the widget helpers Kommo puts on `this`
// (system, get_settings, i18n, render_template, $authorizedAjax ...), APP.data.current_card, and
// the order in which Kommo calls the callbacks of the area. Configuration comes from
// window.__KOMMO__, written into the page by the harness server.
/* global jQuery */
(function () {
  'use strict';
  var config = window.__KOMMO__;
  var $ = jQuery;
  var definition = null;

  // Kommo loads script.js through RequireJS; the widget module is an anonymous define(['jquery'], factory).
  window.define = function (deps, factory) {
    var modules = { jquery: $ };
    definition = { factory: factory, args: deps.map(function (name) { return modules[name]; }) };
  };
  window.define.amd = {};

  window.APP = {
    lang_id: config.lang,
    data: { current_card: config.area === 'lcard' ? { id: config.leadId } : null },
    isCard: function () { return config.area === 'lcard'; },
    getWidgetsArea: function () { return config.area === 'lcard' ? 'leads_card' : config.area; },
    getBaseEntity: function () { return config.area === 'lcard' ? 'leads' : null; },
    constant: function (name) {
      if (name === 'account') return { id: config.account.id, subdomain: config.account.subdomain, timezone: config.account.timezone };
      if (name === 'user') return { id: config.user.id };
      return null;
    }
  };

  var settings = {
    widget_code: config.widgetCode,
    path: config.widgetPath,
    version: config.version,
    active: 'Y',
    status: 'installed',
    oauth_client_uuid: config.clientId
  };

  /** What Kommo's widget base class offers; the widget's constructor runs with it as `this`. */
  var helpers = {
    params: settings,
    langs: config.i18n,
    system: function () {
      return { area: config.area, amouser_id: config.user.id, subdomain: config.account.subdomain, domain: location.host };
    },
    get_settings: function () { return settings; },
    get_version: function () { return config.version; },
    i18n: function (key) { return config.i18n[key]; },
    set_settings: function (values) { $.extend(settings, values); },
    get_install_status: function () { return 'installed'; },
    /** Kommo's frame in the card's right column: caption (logo, name) and the widget's markup. */
    render_template: function (data) {
      var $frame = $('<div class="card-widgets__widget card-widgets__widget-' + config.widgetCode + '"></div>');
      var $caption = $('<div class="card-widgets__widget__caption"></div>').addClass(data.caption && data.caption.class_name);
      $caption.append($('<img alt="">').attr('src', config.widgetPath + '/images/logo_min.png'));
      $caption.append($('<span></span>').text(config.i18n.widget.name));
      $frame.append($caption);
      $frame.append($('<div class="card-widgets__widget__body"></div>').html(data.render || data.body || ''));
      $('#widgets_block').append($frame);
    },
    /** $.ajax with a fresh one-time token of the current user in X-Auth-Token, as Kommo does. */
    $authorizedAjax: function (options) {
      return $.ajax({ url: config.tokenUrl, dataType: 'json', cache: false }).then(function (issued) {
        var headers = $.extend({}, options.headers, { 'X-Auth-Token': issued.token });
        return $.ajax($.extend({}, options, { headers: headers }));
      });
    }
  };

  function instantiate() {
    var Widget = definition.factory.apply(null, definition.args);
    var proto = Object.create(helpers);
    Object.keys(Widget.prototype).forEach(function (key) { proto[key] = Widget.prototype[key]; });
    Widget.prototype = proto;
    return new Widget();
  }

  /** Called by the test once the page is in place: the area's callbacks, in Kommo's order. */
  window.__startKommo = function () {
    if (!definition) throw new Error('script.js did not call define()');
    var widget = instantiate();
    window.__widget = widget;
    var callbacks = widget.callbacks;
    if (callbacks.render() === true) {
      if (callbacks.init() !== true) throw new Error('init() must return true');
      if (callbacks.bind_actions() !== true) throw new Error('bind_actions() must return true');
    } else {
      throw new Error('render() must return true');
    }
    if (config.area === 'settings') callbacks.settings($('.widget-settings__modal .modal-body'));
    if (config.area === 'advanced_settings') callbacks.advancedSettings();
    if (config.area === 'digital_pipeline') callbacks.dpSettings();
    return true;
  };

  /** Kommo's Save button in the settings modal. */
  window.__kommoSave = function () {
    return $.when(window.__widget.callbacks.onSave({ active: 'Y' }));
  };
})();
