// Rate limiting shared by every process: token buckets kept in Postgres, so that two workers (or
// two machines) calling Kommo or Klaviyo for the same account together stay under the limit.
//
// Each call reserves a token and learns how long to wait for it; tokens may go negative (a queue
// of reservations), so callers are served in order without polling. A 429 puts the bucket into
// debt for Retry-After seconds, which every process then honours.
import { db } from "@/lib/db/client";

export type BucketLimit = {
  /** Tokens added per second (the steady rate). */
  ratePerSecond: number;
  /** Bucket size: how many calls may go at once after a quiet period. */
  burst: number;
};

type Reservation = { tokens: number };

async function reserve(key: string, limit: BucketLimit): Promise<number> {
  // One statement: refill by elapsed time (capped at burst), take one token, return the balance.
  const rows = await db().$queryRaw<Reservation[]>`
    INSERT INTO "RateLimitBucket" ("key", "tokens", "refilledAt")
    VALUES (${key}, ${limit.burst - 1}::float8, clock_timestamp())
    ON CONFLICT ("key") DO UPDATE SET
      "tokens" = LEAST(${limit.burst}::float8,
        "RateLimitBucket"."tokens"
        + EXTRACT(EPOCH FROM (clock_timestamp() - "RateLimitBucket"."refilledAt")) * ${limit.ratePerSecond}::float8) - 1,
      "refilledAt" = clock_timestamp()
    RETURNING "tokens"`;
  const tokens = rows[0]?.tokens ?? 0;
  return tokens >= 0 ? 0 : Math.ceil((-tokens / limit.ratePerSecond) * 1000);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Wait until a call under every one of `limits` is allowed (e.g. Klaviyo's burst and steady
 * windows), then return. `key` names the API, account and endpoint tier.
 */
export async function acquire(key: string, limits: BucketLimit | BucketLimit[]): Promise<number> {
  const all = Array.isArray(limits) ? limits : [limits];
  let waitMs = 0;
  for (const [index, limit] of all.entries()) {
    waitMs = Math.max(waitMs, await reserve(all.length > 1 ? `${key}#${index}` : key, limit));
  }
  if (waitMs > 0) await sleep(waitMs);
  return waitMs;
}

/**
 * Like acquire, but never waits longer than `maxWaitMs`: beyond it the reservation is given back and
 * the wait that would have been needed is returned (0: the slot is taken, after any wait).
 */
export async function acquireWithin(key: string, limit: BucketLimit, maxWaitMs: number): Promise<number> {
  const waitMs = await reserve(key, limit);
  if (waitMs > maxWaitMs) {
    await db().$executeRaw`UPDATE "RateLimitBucket" SET "tokens" = "tokens" + 1 WHERE "key" = ${key}`;
    return waitMs;
  }
  if (waitMs > 0) await sleep(waitMs);
  return 0;
}

/** The server said "slow down" (429 Retry-After): no process calls under this key for `seconds`. */
export async function pauseBucket(key: string, limits: BucketLimit | BucketLimit[], seconds: number): Promise<void> {
  const all = Array.isArray(limits) ? limits : [limits];
  for (const [index, limit] of all.entries()) {
    const bucketKey = all.length > 1 ? `${key}#${index}` : key;
    const debt = -seconds * limit.ratePerSecond;
    await db().$executeRaw`
      INSERT INTO "RateLimitBucket" ("key", "tokens", "refilledAt")
      VALUES (${bucketKey}, ${debt}::float8, clock_timestamp())
      ON CONFLICT ("key") DO UPDATE SET "tokens" = LEAST("RateLimitBucket"."tokens", ${debt}::float8), "refilledAt" = clock_timestamp()`;
  }
}

/**
 * Take a token now or not at all: 0 when the call may go, otherwise how long (ms) until one is
 * free. A refused caller leaves the bucket as it found it, so a flood is refused without deepening
 * its own debt and the limit recovers at its steady rate. For doors that answer 429 instead of
 * waiting.
 */
export async function tryTake(key: string, limit: BucketLimit): Promise<number> {
  const waitMs = await reserve(key, limit);
  if (waitMs === 0) return 0;
  await db().$executeRaw`UPDATE "RateLimitBucket" SET "tokens" = "tokens" + 1 WHERE "key" = ${key}`;
  return waitMs;
}

/**
 * Forget buckets nobody has used for `idleHours`: by then each is full again (or, for a pause,
 * long over), so a new row at the next call is the same bucket. Keeps keys made from outside
 * input (hosts, addresses) from piling up.
 */
export async function pruneIdleBuckets(idleHours = 24): Promise<number> {
  return db().$executeRaw`DELETE FROM "RateLimitBucket" WHERE "refilledAt" < clock_timestamp() - make_interval(hours => ${idleHours}::int)`;
}
