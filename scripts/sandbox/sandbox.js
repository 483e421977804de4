// The sandbox page's script: draws the board and the Klaviyo panel from GET /state (every
// second and a half, and after each action), sends the person's actions to POST /actions/*, and
// keeps the widget's frame on the open deal. Text goes into the page with textContent only.
(function () {
  'use strict';
  var config = window.__SANDBOX__;
  var t = config.texts;
  var state = null;
  var lastJson = '';
  var selectedLead = null;
  var tab = 'lcard';
  var frameKey = '';

  function $(selector, root) { return (root || document).querySelector(selector); }
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) {
      if (key === 'text') node.textContent = attributes[key];
      else if (key.slice(0, 2) === 'on') node.addEventListener(key.slice(2), attributes[key]);
      else if (attributes[key] !== null && attributes[key] !== undefined && attributes[key] !== false) node.setAttribute(key, attributes[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child); });
    return node;
  }
  function format(text, values) { return text.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; }); }
  var money = new Intl.NumberFormat(config.lang, { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
  var when = new Intl.DateTimeFormat(config.lang, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

  function stageName(statusId) {
    var stage = state.stages.find(function (candidate) { return candidate.id === statusId; });
    return stage ? stage.name : String(statusId);
  }
  function dealById(id) { return state.deals.find(function (deal) { return deal.id === id; }); }

  function act(action, body) {
    return fetch('/actions/' + action, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) throw new Error(answer.error || response.status);
          return answer;
        });
      })
      .then(function (answer) { refresh(); return answer; })
      .catch(function (error) { window.alert(format(t.failed, { error: error.message })); });
  }

  // --- the board -----------------------------------------------------------------------------

  function dealCard(deal) {
    var card = el('article', { class: 'sb-card' + (deal.id === selectedLead ? ' sb-card--open' : ''), draggable: 'true', 'data-sb-lead': deal.id }, [
      el('h4', { text: deal.name }),
      el('p', { class: 'sb-card__amount', text: money.format(deal.price) }),
      el('p', { class: 'sb-muted', text: deal.contact ? deal.contact.name + (deal.contact.email ? ' · ' + deal.contact.email : '') : t.no_contact }),
    ]);
    card.addEventListener('dragstart', function (event) { event.dataTransfer.setData('text/plain', String(deal.id)); });
    var select = el('select', { 'aria-label': t.move_to, 'data-sb-move': '' }, [el('option', { value: '', text: t.move_to + '…' })]);
    state.stages.forEach(function (stage) { if (stage.id !== deal.statusId) select.appendChild(el('option', { value: stage.id, text: stage.name })); });
    select.addEventListener('change', function () { if (select.value) act('move', { leadId: deal.id, statusId: Number(select.value) }); });
    var won = state.stages[state.stages.length - 2];
    var lost = state.stages[state.stages.length - 1];
    card.appendChild(el('div', { class: 'sb-card__actions' }, [
      el('button', { type: 'button', text: t.open, 'data-sb-open': '', onclick: function () { openDeal(deal.id); } }),
      deal.statusId !== won.id && el('button', { type: 'button', class: 'sb-won', text: t.won, 'data-sb-won': '', onclick: function () { act('move', { leadId: deal.id, statusId: won.id }); } }),
      deal.statusId !== lost.id && el('button', { type: 'button', class: 'sb-lost', text: t.lost, 'data-sb-lost': '', onclick: function () { act('move', { leadId: deal.id, statusId: lost.id }); } }),
      select,
    ]));
    return card;
  }

  function drawBoard() {
    var columns = $('[data-sb-columns]');
    columns.textContent = '';
    state.stages.forEach(function (stage) {
      var deals = state.deals.filter(function (deal) { return deal.statusId === stage.id; });
      var column = el('section', { class: 'sb-column', 'data-sb-stage': stage.name }, [
        el('h3', {}, [stage.name + ' ', el('span', { class: 'sb-muted', text: '(' + deals.length + ')' })]),
      ]);
      deals.forEach(function (deal) { column.appendChild(dealCard(deal)); });
      column.addEventListener('dragover', function (event) { event.preventDefault(); });
      column.addEventListener('drop', function (event) {
        event.preventDefault();
        var leadId = Number(event.dataTransfer.getData('text/plain'));
        if (leadId) act('move', { leadId: leadId, statusId: stage.id });
      });
      columns.appendChild(column);
    });
    [$('[data-sb-stage-select]'), $('[data-sb-dp-stage]')].forEach(function (select) {
      var chosen = select.value;
      select.textContent = '';
      state.stages.forEach(function (stage) { select.appendChild(el('option', { value: stage.id, text: stage.name })); });
      if (chosen) select.value = chosen;
    });
  }

  function drawDeal() {
    var box = $('[data-sb-deal]');
    var deal = selectedLead && dealById(selectedLead);
    if (!deal) { box.hidden = true; return; }
    if (box.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') return;
    box.hidden = false;
    box.textContent = '';
    var amount = el('input', { type: 'number', min: '0', step: '1', value: deal.price, 'aria-label': t.amount, 'data-sb-amount': '' });
    var contact = deal.contact || { firstName: '', lastName: '', email: '' };
    var first = el('input', { value: contact.firstName, 'aria-label': t.first_name });
    var last = el('input', { value: contact.lastName, 'aria-label': t.last_name });
    var email = el('input', { type: 'email', value: contact.email, 'aria-label': t.email, 'data-sb-contact-email': '' });
    box.appendChild(el('h3', { text: deal.name + ' · ' + stageName(deal.statusId) }));
    box.appendChild(el('form', { class: 'sb-inline', onsubmit: function (event) { event.preventDefault(); act('amount', { leadId: deal.id, price: Number(amount.value) }); } }, [
      el('label', {}, [t.amount + ' ', amount]), el('button', { type: 'submit', text: t.save, 'data-sb-save-amount': '' }),
    ]));
    box.appendChild(el('form', { class: 'sb-inline', onsubmit: function (event) {
      event.preventDefault();
      act('contact', { leadId: deal.id, firstName: first.value, lastName: last.value, email: email.value });
    } }, [el('span', { text: t.contact }), first, last, email, el('button', { type: 'submit', text: t.save, 'data-sb-save-contact': '' })]));
    box.appendChild(el('h4', { text: t.notes }));
    var notes = el('ul', { class: 'sb-notes', 'data-sb-notes': '' });
    deal.notes.slice().reverse().forEach(function (note) { notes.appendChild(el('li', { text: note.text })); });
    if (!deal.notes.length) notes.appendChild(el('li', { class: 'sb-muted', text: t.no_notes }));
    box.appendChild(notes);
  }

  // --- the widget's frame --------------------------------------------------------------------

  function pageOptions() {
    var options = { area: tab, lang: config.lang, theme: 'light', userId: config.adminUserId, autostart: true };
    if (tab === 'lcard') {
      var deal = selectedLead && dealById(selectedLead);
      if (!deal) return null;
      options.leadId = deal.id;
      options.lead = { name: deal.name, stage: stageName(deal.statusId), price: money.format(deal.price), contact: deal.contact ? deal.contact.name : '' };
    }
    return options;
  }

  /** What the pane shows for the open deal: when it changes, the card is opened again (Kommo reopens it too). */
  function paneSignature() {
    var deal = selectedLead && dealById(selectedLead);
    if (!deal) return '';
    var profile = deal.contact && state.klaviyo.profiles.find(function (candidate) { return candidate.email === deal.contact.email; });
    return JSON.stringify([deal, profile ? [profile.properties, profile.lists, profile.events.length] : null]);
  }

  function drawFrame(force) {
    var options = pageOptions();
    var key = tab === 'lcard' ? tab + paneSignature() : tab;
    if (!force && key === frameKey) return;
    frameKey = key;
    var frame = $('[data-sb-frame]');
    $('[data-sb-widget-hint]').textContent = tab === 'lcard' ? t.card_hint : tab === 'settings' ? t.settings_hint : t.dp_hint;
    $('[data-sb-dp-save]').hidden = tab !== 'digital_pipeline';
    frame.hidden = !options;
    if (options) frame.src = '/kommo/page?options=' + encodeURIComponent(JSON.stringify(options));
  }

  function openDeal(leadId) {
    selectedLead = leadId;
    tab = 'lcard';
    selectTab();
    draw();
    drawFrame(true);
    var deal = dealById(leadId);
    if (deal && deal.contact) showProfile(deal.contact.email);
  }

  function selectTab() {
    document.querySelectorAll('[data-sb-tab]').forEach(function (button) { button.setAttribute('aria-selected', String(button.getAttribute('data-sb-tab') === tab)); });
  }

  // --- Klaviyo -------------------------------------------------------------------------------

  var openProfile = '';
  function showProfile(email) {
    openProfile = email;
    drawKlaviyo();
  }

  function propertyTable(properties) {
    var table = el('dl', { class: 'sb-props' });
    Object.keys(properties).sort().forEach(function (key) {
      var value = properties[key];
      table.appendChild(el('dt', { text: key }));
      table.appendChild(el('dd', { text: typeof value === 'string' ? value : JSON.stringify(value) }));
    });
    return table;
  }

  function profileBox(profile) {
    var open = profile.email === openProfile;
    var box = el('details', { class: 'sb-profile', 'data-sb-profile': profile.email, open: open ? '' : null }, [
      el('summary', {}, [el('strong', { text: profile.email }), ' ', el('span', { class: 'sb-muted', text: profile.name })]),
    ]);
    box.addEventListener('toggle', function () { if (box.open) openProfile = profile.email; });
    box.appendChild(el('p', { 'data-sb-consent': profile.consent }, [el('strong', { text: t.consent + ': ' }), t['consent_' + profile.consent]]));
    var actions = el('div', { class: 'sb-email-actions' });
    ['open', 'click', 'unsubscribe', 'bounce'].forEach(function (action) {
      actions.appendChild(el('button', { type: 'button', text: t['act_' + action], 'data-sb-email-action': action, onclick: function () { act('email', { email: profile.email, action: action }); } }));
    });
    box.appendChild(actions);
    box.appendChild(el('h4', { text: t.properties }));
    box.appendChild(propertyTable(profile.properties));
    box.appendChild(el('h4', { text: t.lists }));
    var lists = el('p', { 'data-sb-lists': '' });
    profile.lists.forEach(function (name) { lists.appendChild(el('span', { class: 'sb-chip', text: name })); });
    if (!profile.lists.length) lists.appendChild(el('span', { class: 'sb-muted', text: t.no_lists }));
    box.appendChild(lists);
    box.appendChild(el('h4', { text: t.events }));
    var events = el('ol', { class: 'sb-events', 'data-sb-events': '' });
    profile.events.forEach(function (event) {
      var item = el('li', { 'data-sb-event': event.metric }, [
        el('div', {}, [el('strong', { text: event.metric }), ' ', el('time', { class: 'sb-muted', datetime: event.datetime, text: when.format(new Date(event.datetime)) }),
          event.backfill ? el('span', { class: 'sb-chip sb-chip--muted', text: t.backfill }) : null]),
      ]);
      if (Object.keys(event.properties).length) {
        var details = el('details', {}, [el('summary', { class: 'sb-muted', text: Object.keys(event.properties).length + ' properties' })]);
        details.appendChild(propertyTable(event.properties));
        item.appendChild(details);
      }
      events.appendChild(item);
    });
    box.appendChild(events);
    return box;
  }

  function drawKlaviyo() {
    var root = $('[data-sb-profiles]');
    var keepOpen = {};
    root.querySelectorAll('details[open]').forEach(function (node) { keepOpen[node.getAttribute('data-sb-profile') || ''] = true; });
    root.textContent = '';
    if (!state.klaviyo.profiles.length) root.appendChild(el('p', { class: 'sb-muted', text: t.no_profiles }));
    var profiles = state.klaviyo.profiles.slice().sort(function (a, b) { return (b.email === openProfile) - (a.email === openProfile); });
    profiles.forEach(function (profile) { root.appendChild(profileBox(profile)); });
  }

  // --- refresh -------------------------------------------------------------------------------

  function draw() {
    drawBoard();
    drawDeal();
    drawKlaviyo();
  }

  function refresh() {
    return fetch('/state', { cache: 'no-store' })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        if (text === lastJson) return;
        lastJson = text;
        state = JSON.parse(text);
        draw();
        drawFrame(false);
      })
      .catch(function () { /* the demo is stopping; the next refresh tries again */ });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-sb-tab]').forEach(function (button) {
      button.addEventListener('click', function () { tab = button.getAttribute('data-sb-tab'); selectTab(); drawFrame(true); });
    });
    $('[data-sb-add]').addEventListener('submit', function (event) {
      event.preventDefault();
      var form = event.target;
      act('add', {
        name: form.name.value, price: Number(form.price.value), statusId: Number(form.statusId.value),
        firstName: form.firstName.value, lastName: form.lastName.value, email: form.email.value,
      }).then(function (answer) { if (answer) { form.reset(); openDeal(answer.leadId); } });
    });
    $('[data-sb-dp-button]').addEventListener('click', function () {
      // The action's settings are what the widget's form holds, as Kommo saves them.
      var doc = $('[data-sb-frame]').contentDocument;
      var settings = {};
      doc.querySelectorAll('.kp-dp__form input[name]').forEach(function (input) { settings[input.name] = input.value; });
      var statusId = Number($('[data-sb-dp-stage]').value);
      act('dp', { statusId: statusId, settings: settings }).then(function (answer) {
        if (answer) $('[data-sb-dp-saved]').textContent = format(t.dp_saved, { event: settings.event_name || '', stage: stageName(statusId) });
      });
    });
    refresh();
    setInterval(refresh, 1500);
  });
})();
