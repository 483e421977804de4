// The shared token bucket: many concurrent callers (as from several workers) never exceed the rate.
import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { acquire, pauseBucket } from "@/lib/rate-limit";

afterAll(async () => {
  await db().$disconnect();
});

describe("shared rate limiter", () => {
  it("lets a burst through, then spaces calls at the steady rate", async () => {
    const key = `test:burst:${Date.now()}`;
    const limit = { ratePerSecond: 10, burst: 5 };
    const started = Date.now();
    const grantedAt = await Promise.all(
      Array.from({ length: 15 }, async () => {
        await acquire(key, limit);
        return Date.now() - started;
      }),
    );
    grantedAt.sort((a, b) => a - b);
    // 5 at once, then 10 more at 10/s: the last one never before ~1 s after the start (lower
    // bounds only: a loaded machine may be slower, never faster).
    expect(grantedAt[14]!).toBeGreaterThanOrEqual(900);
    // No sliding 1-second window holds more than burst + rate calls.
    for (let i = 0; i < grantedAt.length; i++) {
      const inWindow = grantedAt.filter((t) => t >= grantedAt[i]! && t < grantedAt[i]! + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(15);
    }
  });

  it("honours a pause (Retry-After) for every caller", async () => {
    const key = `test:pause:${Date.now()}`;
    const limit = { ratePerSecond: 50, burst: 50 };
    await acquire(key, limit);
    await pauseBucket(key, limit, 1);
    const started = Date.now();
    await acquire(key, limit);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("applies the strictest of several windows", async () => {
    const key = `test:multi:${Date.now()}`;
    const limits = [
      { ratePerSecond: 100, burst: 100 },
      { ratePerSecond: 2, burst: 2 },
    ];
    const started = Date.now();
    for (let i = 0; i < 4; i++) await acquire(key, limits);
    // 2 at once, then 2 more at 2/s: ~1 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("reserves every window in one statement, many callers at once, without deadlock or excess", async () => {
    const key = `test:multi-concurrent:${Date.now()}`;
    const limits = [
      { ratePerSecond: 10, burst: 5 },
      { ratePerSecond: 100, burst: 100 },
    ];
    const started = Date.now();
    const grantedAt = await Promise.all(
      Array.from({ length: 15 }, async () => {
        await acquire(key, limits);
        return Date.now() - started;
      }),
    );
    grantedAt.sort((a, b) => a - b);
    expect(grantedAt[14]!).toBeGreaterThanOrEqual(900);
    const [strict] = await db().$queryRaw<{ tokens: number }[]>`SELECT "tokens" FROM "RateLimitBucket" WHERE "key" = ${`${key}#0`}`;
    // Fifteen reservations against a burst of 5 at 10/s: the strict window is in debt, not refilled past its burst.
    expect(strict!.tokens).toBeLessThan(5);
  });
});
