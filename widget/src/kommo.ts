// What Kommo gives a widget: the helpers on `this` of the widget's constructor (Kommo's widget base
// class), the read-only APP object of the page, and the callbacks it calls (render, init,
// bind_actions, settings, onSave, destroy, advancedSettings). Kommo's page provides jQuery as the
// AMD module 'jquery': the build wraps the bundle in define(['jquery'], function ($) { ... }), so
// `$` here is Kommo's jQuery.

/** The widget's settings as Kommo keeps them; `path` is where Kommo serves the widget's files. */
export type KommoWidgetSettings = {
  widget_code?: string;
  path?: string;
  version?: string;
  [name: string]: unknown;
};

export type KommoCallbacks = {
  render: () => boolean;
  init: () => boolean;
  bind_actions: () => boolean;
  settings: ($modalBody?: JQuery) => boolean;
  advancedSettings: () => boolean;
  /** The Digital Pipeline action's panel ("settings" in the digital_pipeline scope). */
  dpSettings: () => boolean;
  onSave: () => boolean | PromiseLike<boolean>;
  destroy: () => void;
};

/** `this` of the widget constructor: Kommo's helpers. */
export interface KommoWidget {
  callbacks: KommoCallbacks;
  params?: KommoWidgetSettings;
  system(): { area?: string; [name: string]: unknown };
  get_settings(): KommoWidgetSettings | undefined;
  get_version?(): string;
  /** A top-level section of the user's i18n/<lang>.json. */
  i18n(section: string): unknown;
  /** Kommo's frame in the card's right-hand widgets column, with the widget's own markup inside. */
  render_template(options: { caption: { class_name: string }; body: string; render: string }): void;
  /** $.ajax with a one-time token of the current user in X-Auth-Token. */
  $authorizedAjax(options: JQuery.AjaxSettings): PromiseLike<unknown>;
}

export type KommoApp = {
  data?: { current_card?: { id?: number | string } | null };
  constant?: (name: string) => unknown;
};

declare global {
  interface Window {
    /** Kommo's page data; widgets may only read it. */
    APP?: KommoApp;
  }
  /** The backend's origin, written by `npm run widget:build` into the wrapper around the bundle. */
  const BACKEND_URL: string;
}
