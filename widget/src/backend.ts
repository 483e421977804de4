// What the widget knows about its backend, taken from the backend's own modules rather than
// copied: the answers' types (erased at build time) and a few constants. `npm run widget:build`
// loads the modules named here in Node and puts their plain values (strings, numbers, regular
// expressions, objects of these) into script.js; nothing else of the backend reaches the widget.
// Every import of backend code is in this file.
export { DEFAULT_EVENT_NAMES, KLAVIYO_API_KEY_PATTERN } from "@/lib/features/settings/settings";
export { DIGITAL_PIPELINE_TRIGGER_PREFIX } from "@/lib/features/digital-pipeline/trigger";
export type { EventNames } from "@/lib/features/settings/settings";
export type { SettingsView } from "@/lib/features/settings/account-settings";
export type { BackfillView } from "@/lib/features/backfill/scope";
export type { DealActivity, EmailActivityKind, SyncProblem } from "@/lib/features/widget-api/activity";
export type { WidgetAuthErrorCode } from "@/lib/features/widget-api/token";
