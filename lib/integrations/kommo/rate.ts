// Kommo's request budget: "not more than 7 requests per second" per account. The shared Postgres
// bucket (lib/rate-limit) holds it across every worker process.
import { acquire, pauseBucket, type BucketLimit } from "@/lib/rate-limit";
import { KommoAbortedError } from "./errors";

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

/** Wait for a slot in the account's bucket, but no longer than the caller's deadline. */
export async function takeSlot(rateKey: string, signal?: AbortSignal): Promise<void> {
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
