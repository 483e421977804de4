// Every failure of a Kommo call is a KommoError that says whether trying again later can help
// (`retryable`), so that a job handler can retry a 429 or a 5xx but stop at once on a revoked grant.
import { OutcomeError, type SyncErrorCode } from "@/lib/outcomes";

export type KommoProblem = {
  title?: string;
  type?: string;
  detail?: string;
  hint?: string;
  validationErrors?: unknown;
};

export class KommoError extends OutcomeError {
  declare readonly code: SyncErrorCode;

  constructor(code: SyncErrorCode, message: string, options: { retryable: boolean; cause?: unknown }) {
    super(code, message, options);
  }
}

/** Kommo answered an API call with an error status. `detail` is Kommo's own explanation when it sent one. */
export class KommoApiError extends KommoError {
  readonly status: number;
  readonly detail?: string;
  readonly problem?: KommoProblem;

  constructor(status: number, message: string, options: { retryable: boolean; problem?: KommoProblem; code?: SyncErrorCode }) {
    super(options.code ?? (status >= 500 ? "kommo_server_error" : "kommo_client_error"), message, { retryable: options.retryable });
    this.status = status;
    this.problem = options.problem;
    this.detail = options.problem?.detail;
  }
}

/** 429: the account's request budget is used up for `retryAfterSeconds`. */
export class KommoRateLimitedError extends KommoApiError {
  constructor(
    readonly retryAfterSeconds: number,
    problem?: KommoProblem,
  ) {
    super(429, `Kommo rate limit hit; retry after ${retryAfterSeconds} s`, { retryable: true, problem, code: "kommo_rate_limited" });
  }
}

/**
 * Our own budget for these calls is far in debt, so the call was not made at all (nothing reached
 * Kommo): refused at once instead of queueing behind the debt.
 */
export class KommoBudgetExceededError extends KommoRateLimitedError {}

/** 403 with an HTML page: Kommo's IP/account block after repeated limit violations. */
export class KommoBlockedError extends KommoApiError {
  constructor() {
    super(403, "Kommo is refusing our requests (403 block page, usually after too many requests); backing off", {
      retryable: true,
      code: "kommo_blocked",
    });
  }
}

/** The token endpoint refused a grant or our client credentials. */
export class KommoOAuthError extends KommoError {
  constructor(
    code: "kommo_oauth_unavailable" | "kommo_client_rejected" | "kommo_code_rejected" | "kommo_token_revoked",
    message: string,
    readonly status: number,
    readonly hint: string | undefined,
    retryable: boolean,
  ) {
    super(code, message, { retryable });
  }
}

/** The refresh token was rejected (reused, expired after months of inactivity, or access revoked). */
export class KommoTokenRevokedError extends KommoOAuthError {
  constructor(status: number, hint: string | undefined) {
    super("kommo_token_revoked", `Kommo rejected the refresh token (${hint ?? `HTTP ${status}`})`, status, hint, false);
  }
}

/** The account cannot be called until a person acts (reinstall / re-authorize), or it is gone. */
export class KommoAccountUnavailableError extends KommoError {
  constructor(
    code: "kommo_reauth_required" | "kommo_disconnected" | "kommo_account_not_found",
    message: string,
  ) {
    super(code, message, { retryable: false });
  }
}

/** Connection refused, reset, DNS failure or timeout: nothing was learned, so it can be retried. */
export class KommoNetworkError extends KommoError {
  constructor(message: string, cause?: unknown) {
    super("kommo_network", message, { retryable: true, cause });
  }
}

/** Kommo answered 2xx with a body we cannot understand: retrying will not change it. */
export class KommoResponseError extends KommoError {
  constructor(message: string, cause?: unknown) {
    super("kommo_unexpected_response", message, { retryable: false, cause });
  }
}

/** The caller gave up (deadline or cancellation) before Kommo answered. */
export class KommoAbortedError extends KommoError {
  constructor(message = "Kommo call abandoned: out of time") {
    super("kommo_aborted", message, { retryable: true });
  }
}

export function isKommoError(error: unknown): error is KommoError {
  return error instanceof KommoError;
}
