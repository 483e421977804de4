// Klaviyo failures as typed errors. Each says whether a later retry can succeed and carries a
// message a person can act on; none ever contains the API key (at most its hint, "pk_…1a2b").
import { z } from "zod";
import { OutcomeError, type SyncErrorCode } from "@/lib/outcomes";
import type { KlaviyoOperation } from "./operations";

export type KlaviyoErrorKind =
  | "invalid_key"
  | "missing_scope"
  | "blocked"
  | "rate_limited"
  | "duplicate_profile"
  | "invalid_input"
  | "not_found"
  | "server_error"
  | "network"
  | "timeout"
  | "unexpected_response";

/** One entry of Klaviyo's `errors[]` (JSON:API error object). */
export type KlaviyoErrorObject = {
  id?: string;
  status?: number;
  code?: string;
  title?: string;
  detail?: string;
  source?: { pointer?: string; parameter?: string };
  meta?: Record<string, unknown>;
};

/** The product-wide code of each kind (lib/outcomes.ts). */
const CODE_OF_KIND = {
  invalid_key: "klaviyo_invalid_key",
  missing_scope: "klaviyo_missing_scope",
  blocked: "klaviyo_blocked",
  rate_limited: "klaviyo_rate_limited",
  duplicate_profile: "klaviyo_duplicate_profile",
  invalid_input: "klaviyo_invalid_input",
  not_found: "klaviyo_not_found",
  server_error: "klaviyo_server_error",
  network: "klaviyo_network",
  timeout: "klaviyo_timeout",
  unexpected_response: "klaviyo_unexpected_response",
} as const satisfies Record<KlaviyoErrorKind, SyncErrorCode>;

export class KlaviyoError extends OutcomeError {
  declare readonly code: SyncErrorCode;
  readonly kind: KlaviyoErrorKind;
  /** HTTP status, or null when no response arrived. */
  readonly status: number | null;
  /** Klaviyo operationId of the failed call. */
  readonly operation: string;
  readonly errors: KlaviyoErrorObject[];

  constructor(
    kind: KlaviyoErrorKind,
    message: string,
    details: { retryable: boolean; status: number | null; operation: string; errors?: KlaviyoErrorObject[]; cause?: unknown },
  ) {
    super(CODE_OF_KIND[kind], message, { retryable: details.retryable, cause: details.cause });
    this.name = "KlaviyoError";
    this.kind = kind;
    this.status = details.status;
    this.operation = details.operation;
    this.errors = details.errors ?? [];
  }
}

export class KlaviyoRateLimitError extends KlaviyoError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    details: { status: number; operation: string; errors: KlaviyoErrorObject[] },
  ) {
    super("rate_limited", message, { ...details, retryable: true });
    this.name = "KlaviyoRateLimitError";
  }
}

export class KlaviyoScopeError extends KlaviyoError {
  constructor(
    message: string,
    /** The scopes the operation needs (the key lacks at least one of them). */
    readonly scopes: readonly string[],
    details: { status: number; operation: string; errors: KlaviyoErrorObject[] },
  ) {
    super("missing_scope", message, { ...details, retryable: false });
    this.name = "KlaviyoScopeError";
  }
}

export class KlaviyoDuplicateProfileError extends KlaviyoError {
  constructor(
    message: string,
    /** The existing profile that already holds one of the identifiers sent. */
    readonly duplicateProfileId: string,
    details: { status: number; operation: string; errors: KlaviyoErrorObject[] },
  ) {
    super("duplicate_profile", message, { ...details, retryable: false });
    this.name = "KlaviyoDuplicateProfileError";
  }
}

export class KlaviyoInvalidInputError extends KlaviyoError {
  constructor(
    message: string,
    /** Where in the request Klaviyo found the problem: a JSON pointer into the body or a query parameter. */
    readonly pointer: string | null,
    readonly parameter: string | null,
    details: { status: number; operation: string; errors: KlaviyoErrorObject[] },
  ) {
    super("invalid_input", message, { ...details, retryable: false });
    this.name = "KlaviyoInvalidInputError";
  }
}

/** "pk_…1a2b": enough to tell keys apart, never enough to use one. */
export function keyHint(apiKey: string): string {
  const key = apiKey.trim();
  if (key.length < 12) return "…";
  return `${key.startsWith("pk_") ? "pk_" : ""}…${key.slice(-4)}`;
}

const errorBodySchema = z.object({
  errors: z.array(
    z.looseObject({
      id: z.string().optional(),
      status: z.union([z.number(), z.string()]).optional(),
      code: z.string().optional(),
      title: z.string().optional(),
      detail: z.string().optional(),
      source: z.looseObject({ pointer: z.string().optional(), parameter: z.string().optional() }).optional(),
      meta: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

/** Klaviyo's `errors[]`, or [] for a body that is not Klaviyo's JSON (e.g. a firewall's HTML page). */
export function parseErrorBody(text: string): KlaviyoErrorObject[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [];
  }
  const parsed = errorBodySchema.safeParse(json);
  if (!parsed.success) return [];
  return parsed.data.errors.map((error) => ({
    ...error,
    status: error.status === undefined ? undefined : Number(error.status),
  }));
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed));
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

const shorten = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max)}…` : text);

function describeErrors(errors: KlaviyoErrorObject[]): string {
  const parts = errors.map((error) => {
    const text = error.detail || error.title || error.code || "no detail";
    const where = error.source?.pointer ?? (error.source?.parameter ? `parameter ${error.source.parameter}` : undefined);
    return where ? `${text} (at ${where})` : text;
  });
  return shorten(parts.join("; ") || "no detail given");
}

/** Turn a non-2xx answer into the typed error that says what happened and what to do. */
export function errorFromResponse(input: {
  operation: KlaviyoOperation;
  status: number;
  headers: Headers;
  bodyText: string;
  keyHint: string;
  /** Seconds to wait after a 429 that carried no usable Retry-After. */
  fallbackRetryAfterSeconds?: number;
}): KlaviyoError {
  const { operation, status, headers } = input;
  const errors = parseErrorBody(input.bodyText);
  const isKlaviyoJson = errors.length > 0;
  const details = { status, operation: operation.id, errors };
  const first = errors[0];

  if (status === 401) {
    return new KlaviyoError(
      "invalid_key",
      `Klaviyo rejected the API key ${input.keyHint} (wrong, revoked or not a private key): paste a current private key in the widget settings`,
      { ...details, retryable: false },
    );
  }
  if (status === 403 && isKlaviyoJson) {
    const needed = operation.scopes;
    const message =
      needed.length === 1
        ? `Klaviyo key ${input.keyHint} lacks the ${needed[0]} scope needed to ${operation.action}: add it to the key in Klaviyo (Settings > API keys)`
        : `Klaviyo key ${input.keyHint} lacks one of the scopes ${needed.join(", ")} needed to ${operation.action}: add them to the key in Klaviyo (Settings > API keys)`;
    return new KlaviyoScopeError(message, needed, details);
  }
  if (status === 403) {
    // Not Klaviyo's JSON: an edge firewall (Cloudflare challenge, cf-mitigated header) stopped the
    // call before Klaviyo saw it. It says nothing about the key and usually passes later.
    const challenge = headers.get("cf-mitigated") ? " (Cloudflare challenge)" : "";
    return new KlaviyoError(
      "blocked",
      `Klaviyo's firewall blocked the request to ${operation.action}${challenge}; it will be retried`,
      { ...details, retryable: true },
    );
  }
  if (status === 429) {
    const seconds = parseRetryAfter(headers.get("retry-after")) ?? input.fallbackRetryAfterSeconds ?? 1;
    return new KlaviyoRateLimitError(
      `Klaviyo rate limit reached for ${operation.action}; retry after ${seconds} s`,
      seconds,
      details,
    );
  }
  if (status === 409 && first?.code === "duplicate_profile") {
    const duplicateId = first.meta?.duplicate_profile_id;
    if (typeof duplicateId === "string" && duplicateId) {
      return new KlaviyoDuplicateProfileError(
        `Another Klaviyo profile (${duplicateId}) already holds one of these identifiers`,
        duplicateId,
        details,
      );
    }
  }
  if (status === 404) {
    return new KlaviyoError("not_found", `Klaviyo could not ${operation.action}: ${describeErrors(errors)}`, {
      ...details,
      retryable: false,
    });
  }
  if (status >= 400 && status < 500 && status !== 408) {
    return new KlaviyoInvalidInputError(
      `Klaviyo refused to ${operation.action}: ${describeErrors(errors)}`,
      first?.source?.pointer ?? null,
      first?.source?.parameter ?? null,
      details,
    );
  }
  const what = isKlaviyoJson ? `: ${describeErrors(errors)}` : "";
  return new KlaviyoError("server_error", `Klaviyo answered ${status} to the request to ${operation.action}${what}; it will be retried`, {
    ...details,
    retryable: true,
  });
}

export function networkError(operation: KlaviyoOperation, cause: unknown, timeoutMs: number): KlaviyoError {
  const name = cause instanceof Error ? cause.name : "";
  if (name === "TimeoutError" || name === "AbortError") {
    return new KlaviyoError(
      "timeout",
      `Klaviyo did not answer within ${Math.round(timeoutMs / 100) / 10} s to the request to ${operation.action}; it will be retried`,
      { retryable: true, status: null, operation: operation.id, cause },
    );
  }
  const reason = cause instanceof Error ? ((cause.cause as { code?: string } | undefined)?.code ?? cause.message) : String(cause);
  return new KlaviyoError("network", `Could not reach Klaviyo to ${operation.action} (${shorten(reason, 120)}); it will be retried`, {
    retryable: true,
    status: null,
    operation: operation.id,
    cause,
  });
}
