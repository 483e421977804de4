// One authenticated, rate-limited Kommo API request with the retry rules that belong to it:
// 401 -> renew the token once and repeat; a 401 to the renewed token -> have the token source confirm
// the account's access (one more refresh, then an account read) and repeat once more; 429 -> pause the shared bucket for retry_after and repeat
// when the wait is short; 5xx/network on a read -> repeat with backoff; 403 HTML block -> pause every
// process and give up for now. Anything else becomes a typed KommoApiError.
import type { z } from "zod";
import { KommoApiError, KommoBlockedError, KommoRateLimitedError, KommoResponseError, isKommoError, type KommoProblem } from "./errors";
import { BLOCK_PAUSE_SECONDS, pauseAccount, sleep, takeSlot } from "./rate";
import { fetchKommo, readErrorBody, retryAfterSeconds } from "./transport";

export type TokenSource = {
  /** A token believed valid (refreshed first when close to expiry). */
  current(signal?: AbortSignal): Promise<string>;
  /** Kommo answered 401 to `rejected`: a token that replaces it. */
  renew(rejected: string, signal?: AbortSignal): Promise<string>;
  /**
   * Kommo answered 401 to `rejected` although it had just been renewed. Resolves to a token to repeat
   * the call with; throws the settled verdict (access withdrawn) or a retryable error while it is not
   * settled. Without it, a 401 to a renewed token is final.
   */
  confirm?(rejected: string, signal?: AbortSignal): Promise<string>;
};

export type RequestTarget = {
  baseUrl: string;
  rateKey: string;
  tokens: TokenSource;
  signal?: AbortSignal;
  /** Refuse (retryable) instead of waiting longer than this for a slot: for callers nobody verified. */
  maxSlotWaitMs?: number;
  /** Called once per HTTP request sent, for per-job call counts. */
  onRequest?: () => void;
};

export type ApiRequest<Schema extends z.ZodType> = {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** `/api/v4/...` with its query string. */
  path: string;
  body?: unknown;
  /** Schema of a 2xx body; omitted for calls whose answer is empty or ignored. */
  schema?: Schema;
};

/** Waits for 429s at most this long inline; longer pauses go back to the queue as retryable errors. */
const MAX_INLINE_RETRY_AFTER_SECONDS = 10;
const MAX_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 400;

const backoff = (attempt: number) => BACKOFF_BASE_MS * 2 ** attempt * (0.75 + Math.random() * 0.5);

function describe(method: string, path: string, status: number, problem?: KommoProblem) {
  const pathOnly = path.split("?")[0];
  const why = [problem?.title, problem?.detail].filter(Boolean).join(": ");
  return `Kommo ${method} ${pathOnly} answered ${status}${why ? ` (${why})` : ""}`;
}

/**
 * Send the request; resolves to the parsed body, or null for 204 No Content (Kommo's "nothing found").
 */
export async function kommoRequest<Schema extends z.ZodType>(
  target: RequestTarget,
  request: ApiRequest<Schema>,
): Promise<z.infer<Schema> | null> {
  const { signal } = target;
  // Repeating a write after a 5xx could apply it twice; reads are safe to repeat.
  const idempotent = request.method === "GET" || request.method === "DELETE";
  let token = await target.tokens.current(signal);
  let renewed = false;
  let confirmed = false;

  for (let attempt = 0; ; attempt++) {
    const last = attempt + 1 >= MAX_ATTEMPTS;
    await takeSlot(target.rateKey, signal, target.maxSlotWaitMs);
    target.onRequest?.();
    let response: Response;
    try {
      response = await fetchKommo(
        `${target.baseUrl}${request.path}`,
        {
          method: request.method,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: "application/hal+json, application/json",
            ...(request.body === undefined ? {} : { "Content-Type": "application/json" }),
          },
          body: request.body === undefined ? undefined : JSON.stringify(request.body),
        },
        signal,
      );
    } catch (error) {
      if (isKommoError(error) && error.code === "kommo_network" && idempotent && !last) {
        await sleep(backoff(attempt), signal);
        continue;
      }
      throw error;
    }

    if (response.status === 204) return null;
    if (response.ok) {
      if (!request.schema) {
        await response.body?.cancel();
        return null;
      }
      let body: unknown;
      try {
        body = await response.json();
      } catch (error) {
        throw new KommoResponseError(`Kommo ${request.method} ${request.path.split("?")[0]} answered with a body that is not JSON`, error);
      }
      const parsed = request.schema.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new KommoResponseError(
          `Kommo ${request.method} ${request.path.split("?")[0]} answered with an unexpected shape: ${issue?.path.join(".")} ${issue?.message}`,
        );
      }
      return parsed.data;
    }

    const { problem, html } = await readErrorBody(response);
    const status = response.status;

    if (status === 401 && !renewed) {
      token = await target.tokens.renew(token, signal);
      renewed = true;
      continue;
    }
    if (status === 401 && target.tokens.confirm) {
      // One 401 right after a refresh is not a verdict: Kommo can refuse a token for a moment.
      if (confirmed) {
        throw new KommoApiError(401, `${describe(request.method, request.path, status, problem)} again, after the account's access was checked`, {
          retryable: true,
          code: "kommo_access_unconfirmed",
        });
      }
      token = await target.tokens.confirm(token, signal);
      confirmed = true;
      continue;
    }
    if (status === 429) {
      const seconds = retryAfterSeconds(response, problem, 1);
      // Every process sharing the bucket waits, not only this caller.
      await pauseAccount(target.rateKey, seconds);
      if (seconds <= MAX_INLINE_RETRY_AFTER_SECONDS && !last) continue;
      throw new KommoRateLimitedError(seconds, problem);
    }
    if (status === 403 && html) {
      await pauseAccount(target.rateKey, BLOCK_PAUSE_SECONDS);
      throw new KommoBlockedError();
    }
    if (status >= 500) {
      if (idempotent && !last) {
        await sleep(backoff(attempt), signal);
        continue;
      }
      throw new KommoApiError(status, describe(request.method, request.path, status, problem), { retryable: true, problem });
    }
    throw new KommoApiError(status, describe(request.method, request.path, status, problem), {
      retryable: false,
      problem: problem && { title: problem.title, type: problem.type, detail: problem.detail, validationErrors: problem["validation-errors"] },
      code: status === 401 ? "kommo_unauthorized" : undefined,
    });
  }
}
