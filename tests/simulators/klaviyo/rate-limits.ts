// Klaviyo's rate limiting as documented: per account and endpoint, two fixed windows, burst (1 s)
// and steady (60 s); exceeding either is a 429 with Retry-After and without the RateLimit-* headers
// that every other answer carries for the steady window.

export type WindowLimits = { burstPerSecond: number; steadyPerMinute: number };

export type Admission =
  | { allowed: true; headers: Record<string, string> }
  | { allowed: false; retryAfterSeconds: number };

type Counter = { second: number; inSecond: number; minute: number; inMinute: number };

export class FixedWindowLimiter {
  private readonly counters = new Map<string, Counter>();

  admit(key: string, limits: WindowLimits, now = Date.now()): Admission {
    const second = Math.floor(now / 1000);
    const minute = Math.floor(now / 60_000);
    const counter = this.counters.get(key) ?? { second, inSecond: 0, minute, inMinute: 0 };
    if (counter.second !== second) Object.assign(counter, { second, inSecond: 0 });
    if (counter.minute !== minute) Object.assign(counter, { minute, inMinute: 0 });
    this.counters.set(key, counter);
    const minuteReset = Math.max(1, Math.ceil(((minute + 1) * 60_000 - now) / 1000));
    if (counter.inMinute >= limits.steadyPerMinute) return { allowed: false, retryAfterSeconds: minuteReset };
    if (counter.inSecond >= limits.burstPerSecond) return { allowed: false, retryAfterSeconds: 1 };
    counter.inSecond++;
    counter.inMinute++;
    return {
      allowed: true,
      headers: {
        "RateLimit-Limit": String(limits.steadyPerMinute),
        "RateLimit-Remaining": String(limits.steadyPerMinute - counter.inMinute),
        "RateLimit-Reset": String(minuteReset),
      },
    };
  }
}
