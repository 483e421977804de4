// One HTTP exchange with Kommo: a deadline on every call, network failures as retryable errors,
// and error bodies read as problem+json (or recognised as Kommo's HTML block page).
import { problemSchema, type KommoProblemBody } from "./api-schemas";
import { KommoAbortedError, KommoNetworkError } from "./errors";

/** Long enough for a slow Kommo page, short enough that a stuck call does not hold a job or a lock. */
export const REQUEST_TIMEOUT_MS = 15_000;

export async function fetchKommo(url: string, init: RequestInit, signal?: AbortSignal, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    // Redirects are not followed: an API call that moved is an error to look at, not to chase.
    return await fetch(url, { ...init, redirect: "manual", signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  } catch (error) {
    if (signal?.aborted) throw new KommoAbortedError();
    if (timeout.aborted) throw new KommoNetworkError(`Kommo did not answer within ${timeoutMs} ms`, error);
    const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new KommoNetworkError(`Kommo could not be reached: ${reason}`, error);
  }
}

export type ErrorBody = { problem?: KommoProblemBody; html: boolean };

/** Read an error answer without trusting it to be JSON (the 403 block is an nginx HTML page). */
export async function readErrorBody(response: Response): Promise<ErrorBody> {
  const contentType = response.headers.get("content-type") ?? "";
  const text = await response.text().catch(() => "");
  if (contentType.includes("json")) {
    try {
      const parsed = problemSchema.safeParse(JSON.parse(text));
      if (parsed.success) return { problem: parsed.data, html: false };
    } catch {
      // not JSON after all: fall through
    }
  }
  return { html: contentType.includes("text/html") || /^\s*<(!doctype|html)/i.test(text) };
}

/** Retry-After as Kommo sends it: `retry_after` in the body, or the standard header. */
export function retryAfterSeconds(response: Response, problem: KommoProblemBody | undefined, fallback: number): number {
  const fromBody = problem?.retry_after;
  if (fromBody !== undefined && Number.isFinite(fromBody) && fromBody >= 0) return fromBody;
  const header = Number(response.headers.get("retry-after"));
  return Number.isFinite(header) && header >= 0 && response.headers.has("retry-after") ? header : fallback;
}
