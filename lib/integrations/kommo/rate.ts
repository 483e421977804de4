// Kommo's request budget: "not more than 7 requests per second" per account. The shared Postgres
// bucket (lib/rate-limit) holds it across every worker process.
import { acquire, acquireWithin, pauseBucket, type BucketLimit } from "@/lib/rate-limit";
import { KommoAbortedError, KommoBudgetExceededError } from "./errors";

/**
 * Burst 1 + 5/s puts at most 6 calls in any 1-second window however the window is aligned, and
 * stays under Kommo's 7 even when a stalled process (GC, CPU starvation) or network jitter bunches
 * up to 400 ms of calls together. A 429 costs far more than the throughput given up: Kommo's example
 * retry_after is 300 s, and repeated violations get the IP blocked.
 */
export const KOMMO_RATE_LIMIT: BucketLimit = { ratePerSecond: 5, burst: 1 };

/** How long every process stays away after Kommo's 403 block page. */
export const BLOCK_PAUSE_SECONDS = 60;

export const accountRateKey = (kommoAccountId: number) => `kommo:${kommoAccountId}`;
/** Before the account id is known (the install's first calls), the host stands in for it. */
export const hostRateKey = (host: string) => `kommo:host:${host}`;
/**
 * Calls made for a caller nobody has verified yet (a code from the open install door, a sign-in
 * answer): their own budget per host, so that junk sent there cannot use up the budget of the
 * account's verified work, and one budget for all hosts together, so that junk spread over many
 * hosts cannot make our address send Kommo a flood of bad exchanges.
 */
export const unverifiedRateKey = (host: string) => `kommo:unverified:${host}`;
export const UNVERIFIED_ALL_HOSTS_KEY = "kommo:unverified:*";
export const UNVERIFIED_ALL_HOSTS_LIMIT: BucketLimit = { ratePerSecond: 3, burst: 10 };
/** A person waiting on a page (the widget) is told "too many requests" rather than held longer than this. */
export const INTERACTIVE_MAX_WAIT_MS = 5_000;
/** An unverified call does not queue behind more than this: far in debt, it is refused at once. */
export const UNVERIFIED_MAX_WAIT_MS = 1_000;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new KommoAbortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new KommoAbortedError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Wait for a slot in the account's bucket, but no longer than the caller's deadline, nor (with
 * `maxWaitMs`) longer than that: a bucket that far in debt answers at once with a retryable
 * KommoBudgetExceededError instead of holding the caller.
 */
export async function takeSlot(rateKey: string, signal?: AbortSignal, maxWaitMs?: number): Promise<void> {
  if (maxWaitMs !== undefined) {
    if (signal?.aborted) throw new KommoAbortedError();
    const needed = await acquireWithin(rateKey, KOMMO_RATE_LIMIT, maxWaitMs);
    if (needed > 0) throw new KommoBudgetExceededError(Math.ceil(needed / 1000));
    return;
  }
  if (!signal) {
    await acquire(rateKey, KOMMO_RATE_LIMIT);
    return;
  }
  if (signal.aborted) throw new KommoAbortedError();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new KommoAbortedError());
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([acquire(rateKey, KOMMO_RATE_LIMIT), aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
}

export const pauseAccount = (rateKey: string, seconds: number) => pauseBucket(rateKey, KOMMO_RATE_LIMIT, seconds);

/**
 * A slot for an unverified call on `host`: its host's unverified budget, then the all-hosts one,
 * waiting briefly at most (KommoBudgetExceededError beyond). The host's first, so that junk aimed at
 * one host is held there before it can use up what all hosts share.
 */
export async function takeUnverifiedSlot(host: string, signal?: AbortSignal): Promise<void> {
  await takeSlot(unverifiedRateKey(host), signal, UNVERIFIED_MAX_WAIT_MS);
  const overall = await acquireWithin(UNVERIFIED_ALL_HOSTS_KEY, UNVERIFIED_ALL_HOSTS_LIMIT, UNVERIFIED_MAX_WAIT_MS);
  if (overall > 0) throw new KommoBudgetExceededError(Math.ceil(overall / 1000));
}
