// Every way a sync, a job or an API call can end, defined once: the error codes (whether the
// product retries them, the HTTP status a route answers with, a short label and what a person
// does about it) and the reasons a deal is skipped. The sync log stores these codes, the widget
// and the dashboard read them, the metrics count them; nothing recovers an outcome from a sentence.

type OutcomeInfo = {
  /** The product tries again by itself (the queue's retries, the next poll). */
  retryable: boolean;
  /** What an API route answers when this ends a request. */
  httpStatus: number;
  /** A few words for tables and the deal-card pane. */
  label: string;
  /** What a person does about it; absent when nothing is to be done. */
  fix?: string;
};

const WIDGET_SETTINGS = "Kommo → Settings → Integrations → Klaviyo Sync";

/** Codes a deal's sync (or another job) can end with: stored in SyncLog.errorCode. */
export const SYNC_ERRORS = {
  klaviyo_invalid_key: {
    retryable: false,
    httpStatus: 422,
    label: "Klaviyo key rejected",
    fix: `Paste a current Klaviyo private API key in ${WIDGET_SETTINGS}, then replay the failed deals.`,
  },
  klaviyo_missing_scope: {
    retryable: false,
    httpStatus: 422,
    label: "Klaviyo key lacks a scope",
    fix: "Give the key the missing scope in Klaviyo (Settings → API keys) or paste a key that has it, then replay.",
  },
  klaviyo_not_connected: {
    retryable: false,
    httpStatus: 409,
    label: "Klaviyo not connected",
    fix: `Paste a Klaviyo private API key in ${WIDGET_SETTINGS}; the waiting deals are sent then.`,
  },
  klaviyo_blocked: { retryable: true, httpStatus: 502, label: "Klaviyo firewall" },
  klaviyo_rate_limited: { retryable: true, httpStatus: 503, label: "Klaviyo rate limit" },
  klaviyo_duplicate_profile: {
    retryable: false,
    httpStatus: 409,
    label: "Duplicate Klaviyo profile",
    fix: "Merge the two profiles in Klaviyo, then replay the deal.",
  },
  klaviyo_invalid_input: {
    retryable: false,
    httpStatus: 422,
    label: "Klaviyo refused the data",
    fix: "Correct the field the message names on the deal or its contact in Kommo, then replay.",
  },
  klaviyo_not_found: {
    retryable: false,
    httpStatus: 404,
    label: "Not found in Klaviyo",
    fix: "A list or profile the settings name no longer exists in Klaviyo: pick another list in the settings, then replay.",
  },
  klaviyo_server_error: { retryable: true, httpStatus: 502, label: "Klaviyo error" },
  klaviyo_network: { retryable: true, httpStatus: 502, label: "Klaviyo unreachable" },
  klaviyo_timeout: { retryable: true, httpStatus: 504, label: "Klaviyo timeout" },
  klaviyo_unexpected_response: {
    retryable: false,
    httpStatus: 502,
    label: "Unexpected Klaviyo answer",
    fix: "Klaviyo answered in a way the product does not understand; replay later, and report it if it stays.",
  },
  kommo_reauth_required: {
    retryable: false,
    httpStatus: 409,
    label: "Kommo access withdrawn",
    fix: "A Kommo administrator installs Klaviyo Sync again (Kommo → Settings → Integrations); waiting changes are synced afterwards.",
  },
  kommo_token_revoked: {
    retryable: false,
    httpStatus: 409,
    label: "Kommo access withdrawn",
    fix: "A Kommo administrator installs Klaviyo Sync again (Kommo → Settings → Integrations); waiting changes are synced afterwards.",
  },
  kommo_disconnected: {
    retryable: false,
    httpStatus: 409,
    label: "Uninstalled in Kommo",
    fix: "Install Klaviyo Sync again from the Kommo marketplace to resume syncing.",
  },
  kommo_account_not_found: { retryable: false, httpStatus: 404, label: "Kommo account not found", fix: "Install Klaviyo Sync again from the Kommo marketplace." },
  kommo_rate_limited: { retryable: true, httpStatus: 503, label: "Kommo rate limit" },
  kommo_blocked: { retryable: true, httpStatus: 503, label: "Kommo blocked requests" },
  kommo_network: { retryable: true, httpStatus: 502, label: "Kommo unreachable" },
  kommo_aborted: { retryable: true, httpStatus: 504, label: "Kommo too slow" },
  kommo_unauthorized: {
    retryable: false,
    httpStatus: 502,
    label: "Kommo token refused",
    fix: "Kommo refused the integration's access token; if it stays, a Kommo administrator installs Klaviyo Sync again.",
  },
  /** Kommo refused a token it had just issued, and the check of the account's access is not settled yet. */
  kommo_access_unconfirmed: { retryable: true, httpStatus: 503, label: "Kommo access being confirmed" },
  kommo_server_error: { retryable: true, httpStatus: 502, label: "Kommo error" },
  kommo_client_error: {
    retryable: false,
    httpStatus: 502,
    label: "Kommo refused the request",
    fix: "Kommo refused a request about this deal; the message says why. Correct it in Kommo, then replay.",
  },
  kommo_unexpected_response: {
    retryable: false,
    httpStatus: 502,
    label: "Unexpected Kommo answer",
    fix: "Kommo answered in a way the product does not understand; replay later, and report it if it stays.",
  },
  kommo_oauth_unavailable: { retryable: true, httpStatus: 502, label: "Kommo sign-in unavailable" },
  kommo_client_rejected: {
    retryable: false,
    httpStatus: 502,
    label: "Integration credentials rejected",
    fix: "The operator checks KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET and KOMMO_REDIRECT_URI against the integration in Kommo.",
  },
  kommo_code_rejected: { retryable: false, httpStatus: 400, label: "Kommo code rejected", fix: "Start the installation again from Kommo." },
  kommo_consent_field_refused: {
    retryable: false,
    httpStatus: 422,
    label: "Kommo refused the email status",
    fix: `Kommo refused the "Klaviyo email status" field even after it was looked up again: check the field in Kommo (Settings → Contacts fields), or turn the status field off and on in ${WIDGET_SETTINGS}.`,
  },
  internal: { retryable: true, httpStatus: 500, label: "Internal error" },
} as const satisfies Record<string, OutcomeInfo>;

/** Codes only an API route answers with (bad input, authorisation, state conflicts). */
export const API_ERRORS = {
  invalid_json: { retryable: false, httpStatus: 400, label: "Body is not JSON" },
  invalid_request: { retryable: false, httpStatus: 400, label: "Invalid request" },
  invalid_settings: { retryable: false, httpStatus: 400, label: "Invalid settings" },
  invalid_backfill: { retryable: false, httpStatus: 400, label: "Invalid import request" },
  invalid_filter: { retryable: false, httpStatus: 400, label: "Invalid filter" },
  invalid_lead_id: { retryable: false, httpStatus: 400, label: "Invalid deal id" },
  invalid_referer: { retryable: false, httpStatus: 400, label: "Not a Kommo account host" },
  malformed_body: { retryable: false, httpStatus: 400, label: "Malformed body" },
  body_too_large: { retryable: false, httpStatus: 413, label: "Body too large" },
  unsupported_media_type: { retryable: false, httpStatus: 415, label: "Unsupported content type" },
  unauthorized: { retryable: false, httpStatus: 401, label: "Not authorised" },
  bad_signature: { retryable: false, httpStatus: 401, label: "Bad signature" },
  invalid_signature: { retryable: false, httpStatus: 401, label: "Bad signature" },
  not_signed_in: { retryable: false, httpStatus: 401, label: "Not signed in" },
  missing_token: { retryable: false, httpStatus: 401, label: "Widget token missing" },
  invalid_token: { retryable: false, httpStatus: 401, label: "Widget token invalid" },
  token_expired: { retryable: false, httpStatus: 401, label: "Widget token expired" },
  forbidden_origin: { retryable: false, httpStatus: 403, label: "Wrong origin" },
  admin_only: { retryable: false, httpStatus: 403, label: "Administrators only" },
  not_installed: { retryable: false, httpStatus: 403, label: "Not installed" },
  account_mismatch: { retryable: false, httpStatus: 403, label: "Wrong account" },
  webhook_mismatch: { retryable: false, httpStatus: 403, label: "Wrong account" },
  unknown_hook: { retryable: false, httpStatus: 404, label: "Unknown hook" },
  account_not_found: { retryable: false, httpStatus: 404, label: "Account not found" },
  no_backfill: { retryable: false, httpStatus: 404, label: "No import yet" },
  metrics_disabled: { retryable: false, httpStatus: 404, label: "Metrics disabled" },
  backfill_running: { retryable: false, httpStatus: 409, label: "Import already running" },
  sync_paused: { retryable: false, httpStatus: 409, label: "Syncing paused" },
  account_paused: { retryable: false, httpStatus: 409, label: "Syncing paused" },
  account_disconnected: { retryable: false, httpStatus: 409, label: "Uninstalled in Kommo" },
  stale_delivery: { retryable: false, httpStatus: 409, label: "Stale delivery" },
  revoke_not_confirmed: { retryable: false, httpStatus: 409, label: "Revocation not confirmed by Kommo" },
  klaviyo_key_rejected: { retryable: false, httpStatus: 422, label: "Klaviyo key rejected" },
  invalid_opt_in_field: { retryable: false, httpStatus: 422, label: "Not a contact checkbox field" },
  subscriptions_scope_missing: { retryable: false, httpStatus: 422, label: "Klaviyo key cannot change consent" },
  install_failed: { retryable: false, httpStatus: 400, label: "Install failed" },
  install_code_reused: { retryable: false, httpStatus: 409, label: "Install code already received" },
  rate_limited: { retryable: true, httpStatus: 429, label: "Too many requests" },
  user_rate_limited: { retryable: true, httpStatus: 429, label: "Too many requests from this user" },
  lead_access_denied: { retryable: false, httpStatus: 403, label: "Deal not visible to this user" },
  lead_not_found: { retryable: false, httpStatus: 404, label: "Deal not found in Kommo" },
  klaviyo_unavailable: { retryable: true, httpStatus: 502, label: "Klaviyo unavailable" },
  not_configured: { retryable: false, httpStatus: 503, label: "Not configured" },
  metrics_unavailable: { retryable: true, httpStatus: 503, label: "Metrics unavailable" },
  temporarily_unavailable: { retryable: true, httpStatus: 503, label: "Temporarily unavailable" },
  internal_error: { retryable: true, httpStatus: 500, label: "Internal error" },
} as const satisfies Record<string, OutcomeInfo>;

export type SyncErrorCode = keyof typeof SYNC_ERRORS;
export type ApiErrorCode = keyof typeof API_ERRORS;
export type ErrorCode = SyncErrorCode | ApiErrorCode;

const ALL_ERRORS: Record<ErrorCode, OutcomeInfo> = { ...SYNC_ERRORS, ...API_ERRORS };

export function isErrorCode(value: string | null | undefined): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ALL_ERRORS, value);
}

export function isSyncErrorCode(value: string | null | undefined): value is SyncErrorCode {
  return typeof value === "string" && Object.hasOwn(SYNC_ERRORS, value);
}

export function outcomeOf(code: ErrorCode): OutcomeInfo {
  return ALL_ERRORS[code];
}

/** Why a deal was not sent to Klaviyo: stored as the sync log's code when its status is "skipped". */
export const SKIP_REASONS = {
  no_change: "no change to sync",
  deleted: "the deal was deleted in Kommo",
  deleted_unsynced: "the deal was deleted in Kommo before it was ever synced; nothing to change in Klaviyo",
  no_contact: "the deal has no main contact",
  contact_unreadable: "the deal's main contact could not be read from Kommo",
  no_email: "the contact has no email",
  invalid_email: "the contact's email is not a valid address",
  nothing_to_send: "nothing to send for this deal",
} as const;

export type SkipReason = keyof typeof SKIP_REASONS;

export function isSkipReason(value: string | null | undefined): value is SkipReason {
  return typeof value === "string" && Object.hasOwn(SKIP_REASONS, value);
}

/** What a sync-log row's code says, for the dashboard's tables: a label for any stored code. */
export function describeCode(code: string | null): string {
  if (!code) return "";
  if (isErrorCode(code)) return ALL_ERRORS[code].label;
  if (isSkipReason(code)) return "Skipped";
  // Rows written before a code was renamed keep their old code; shown as words.
  return code === "skipped" ? "Skipped" : code.replace(/_/g, " ");
}

/**
 * The one error base of the product: a code from the table above, whether trying again can help,
 * and the HTTP status a route answers with. Both API clients' errors derive from it.
 */
export class OutcomeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly httpStatus: number;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; httpStatus?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? ALL_ERRORS[code].retryable;
    this.httpStatus = options.httpStatus ?? ALL_ERRORS[code].httpStatus;
  }
}

/** Unknown errors (bugs, a database hiccup) are retried: the queue's retry limit bounds them. */
export function isRetryable(error: unknown): boolean {
  return error instanceof OutcomeError ? error.retryable : true;
}

/** The code a failed attempt is logged with. */
export function errorCodeOf(error: unknown): ErrorCode {
  return error instanceof OutcomeError ? error.code : "internal";
}
