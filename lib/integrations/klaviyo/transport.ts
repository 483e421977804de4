// One HTTP exchange with Klaviyo: headers, the shared rate limiter, a timeout, error mapping and
// call counting. Everything operation-specific lives in the client.
import type { z } from "zod";
import { acquire, pauseBucket, type BucketLimit } from "@/lib/rate-limit";
import { logger } from "@/lib/platform/log";
import { errorFromResponse, KlaviyoError, KlaviyoRateLimitError, networkError } from "./errors";
import { bucketKey, bucketLimits, type KlaviyoOperation } from "./operations";

/** Where calls wait for their turn; the default is shared by every process through Postgres. */
export type RateLimiter = {
  acquire(key: string, limits: BucketLimit[]): Promise<unknown>;
  pause(key: string, limits: BucketLimit[], seconds: number): Promise<void>;
};

export const sharedRateLimiter: RateLimiter = {
  acquire: (key, limits) => acquire(key, limits),
  pause: (key, limits, seconds) => pauseBucket(key, limits, seconds),
};

export type TransportOptions = {
  apiKey: string;
  keyHint: string;
  limiterId: string;
  baseUrl: string;
  revision: string;
  timeoutMs: number;
  maxRateLimitRetries: number;
  /** In-place retries after a 5xx, a network error or a timeout. */
  maxTransientRetries: number;
  maxRetryAfterSeconds: number;
  limiter: RateLimiter;
  fetch: typeof fetch;
};

export type TransportRequest = {
  pathParams?: Record<string, string>;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** A `links.next` URL from a previous page, used instead of path and query. */
  url?: string;
};

export type TransportResponse = { status: number; headers: Headers; json: unknown };

const JSON_API = "application/vnd.api+json";

/** Failures that a moment later may not happen again. */
const TRANSIENT = new Set(["server_error", "network", "timeout"]);
const TRANSIENT_BACKOFF_MS = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class KlaviyoTransport {
  private callCount = 0;
  private unansweredWriteCount = 0;
  private readonly base: URL;

  constructor(private readonly options: TransportOptions) {
    this.base = new URL(options.baseUrl);
  }

  /** HTTP requests sent so far (each retry counts), for the sync log. */
  get calls(): number {
    return this.callCount;
  }

  /**
   * Writes that got no answer within the timeout. Klaviyo may still apply such a request later,
   * after a newer write of the same profile, so the caller re-checks what it wrote (sync-lead).
   */
  get unansweredWrites(): number {
    return this.unansweredWriteCount;
  }

  async send(operation: KlaviyoOperation, request: TransportRequest = {}): Promise<TransportResponse> {
    const url = this.urlFor(operation, request);
    const key = bucketKey(this.options.limiterId, operation);
    const limits = bucketLimits(operation);
    // Retried here, a bounded number of times, so that a job does not redo its earlier calls for
    // one bad answer: 429s after the Retry-After Klaviyo gives (the pause is shared by every worker
    // through the limiter), and transient failures (5xx, network, timeout) after a short backoff.
    // That is safe because every operation this product sends is idempotent (upserts by email,
    // list membership, events with a unique_id). What is still failing goes back to the job, whose
    // backoff spans hours and whose state is in the sync log.
    let transientFailures = 0;
    for (let attempt = 0; ; attempt++) {
      await this.options.limiter.acquire(key, limits);
      try {
        return await this.exchange(operation, url, request.body, attempt);
      } catch (error) {
        if (error instanceof KlaviyoRateLimitError) {
          await this.options.limiter.pause(key, limits, error.retryAfterSeconds);
          const retry = attempt - transientFailures < this.options.maxRateLimitRetries && error.retryAfterSeconds <= this.options.maxRetryAfterSeconds;
          logger().info(
            { operation: operation.id, limiterId: this.options.limiterId, retryAfterSeconds: error.retryAfterSeconds, retry },
            "Klaviyo rate limit hit; calls under this limit paused",
          );
          if (!retry) throw error;
          continue;
        }
        if (!(error instanceof KlaviyoError) || !TRANSIENT.has(error.kind) || transientFailures >= this.options.maxTransientRetries) throw error;
        transientFailures++;
        await sleep(TRANSIENT_BACKOFF_MS * 2 ** (transientFailures - 1) * (1 + Math.random()));
      }
    }
  }

  /** Check a response body against its schema; a mismatch is Klaviyo breaking the contract we rely on. */
  parse<T extends z.ZodType>(operation: KlaviyoOperation, schema: T, json: unknown): z.infer<T> {
    const result = schema.safeParse(json);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const where = issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "unknown";
    throw new KlaviyoError("unexpected_response", `Klaviyo's answer to the request to ${operation.action} had an unexpected shape (${where})`, {
      retryable: false,
      status: 200,
      operation: operation.id,
    });
  }

  private urlFor(operation: KlaviyoOperation, request: TransportRequest): URL {
    if (request.url) {
      // Follow Klaviyo's own link, but only to the host the key belongs to.
      const next = new URL(request.url, this.base);
      if (next.origin !== this.base.origin || !next.pathname.endsWith(operation.path)) {
        throw new KlaviyoError("unexpected_response", `Klaviyo returned a paging link to an unexpected place while trying to ${operation.action}`, {
          retryable: false,
          status: 200,
          operation: operation.id,
        });
      }
      return next;
    }
    const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = request.pathParams?.[name];
      if (!value) throw new TypeError(`${operation.id}: missing path parameter ${name}`);
      return encodeURIComponent(value);
    });
    const url = new URL(this.base.pathname.replace(/\/$/, "") + path, this.base);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    return url;
  }

  private async exchange(operation: KlaviyoOperation, url: URL, body: unknown, attempt: number): Promise<TransportResponse> {
    const headers: Record<string, string> = {
      Authorization: `Klaviyo-API-Key ${this.options.apiKey}`,
      revision: this.options.revision,
      Accept: JSON_API,
    };
    if (body !== undefined) headers["Content-Type"] = JSON_API;

    this.callCount++;
    let status: number;
    let responseHeaders: Headers;
    let text: string;
    try {
      const response = await this.options.fetch(url, {
        method: operation.method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: "error",
      });
      status = response.status;
      responseHeaders = response.headers;
      text = await response.text();
    } catch (cause) {
      const error = networkError(operation, cause, this.options.timeoutMs);
      if (error.kind === "timeout" && operation.method !== "GET") this.unansweredWriteCount++;
      throw error;
    }

    if (status >= 200 && status < 300) {
      if (text.trim() === "") return { status, headers: responseHeaders, json: undefined };
      try {
        return { status, headers: responseHeaders, json: JSON.parse(text) };
      } catch {
        throw new KlaviyoError("unexpected_response", `Klaviyo's answer to the request to ${operation.action} was not JSON`, {
          retryable: false,
          status,
          operation: operation.id,
        });
      }
    }
    throw errorFromResponse({
      operation,
      status,
      headers: responseHeaders,
      bodyText: text,
      keyHint: this.options.keyHint,
      // No Retry-After on a 429: back off 1 s, 2 s, 4 s ...
      fallbackRetryAfterSeconds: 2 ** attempt,
    });
  }
}
