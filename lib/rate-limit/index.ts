// Rate limiting shared by every process: token buckets kept in Postgres, so that two workers (or
// two machines) calling Kommo or Klaviyo for the same account together stay under the limit.
//
// Each call reserves a token (in every window it is under, in one statement) and learns how long
// to wait for it; tokens may go negative (a queue of reservations), so callers are served in order
// without polling. A 429 puts the bucket into
// debt for Retry-After seconds, which every process then honours.
import { db } from "@/lib/db/client";
import { sqlPool } from "@/lib/db/sql-pool";

export type BucketLimit = {
  /** Tokens added per second (the steady rate). */
  ratePerSecond: number;
  /** Bucket size: how many calls may go at once after a quiet period. */
  burst: number;
};

type Reservation = { tokens: number };

// The reservations are plain SQL on the small pool (lib/db/sql-pool.ts): one runs before every API
// call, the hottest statement of a sync.
const RESERVE = `
  INSERT INTO "RateLimitBucket" ("key", "tokens", "refilledAt")
  VALUES ($1, $2::float8 - 1, clock_timestamp())
  ON CONFLICT ("key") DO UPDATE SET
    "tokens" = LEAST($2::float8,
      "RateLimitBucket"."tokens"
      + EXTRACT(EPOCH FROM (clock_timestamp() - "RateLimitBucket"."refilledAt")) * $3::float8) - 1,
    "refilledAt" = clock_timestamp()
  RETURNING "tokens"`;

async function reserve(key: string, limit: BucketLimit): Promise<number> {
  // One statement: refill by elapsed time (capped at burst), take one token, return the balance.
  const { rows } = await sqlPool().query<Reservation>(RESERVE, [key, limit.burst, limit.ratePerSecond]);
  const tokens = rows[0]?.tokens ?? 0;
  return tokens >= 0 ? 0 : Math.ceil((-tokens / limit.ratePerSecond) * 1000);
}

/** Give back a reservation that will not be used. */
async function giveBack(key: string): Promise<void> {
  await sqlPool().query(`UPDATE "RateLimitBucket" SET "tokens" = "tokens" + 1 WHERE "key" = $1`, [key]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reserve a token in every window at once (one statement, one round trip), refilled like `reserve`;
 * how long to wait for the last of them. Rows are taken in key order, the same for every caller,
 * so that two processes reserving the same windows cannot deadlock.
 */
async function reserveAll(keys: string[], limits: BucketLimit[]): Promise<number> {
  const { rows } = await sqlPool().query<{ key: string; tokens: number }>(
    `INSERT INTO "RateLimitBucket" ("key", "tokens", "refilledAt")
     SELECT window_key, burst - 1, clock_timestamp()
     FROM unnest($1::text[], $2::float8[]) AS w(window_key, burst)
     ORDER BY window_key
     ON CONFLICT ("key") DO UPDATE SET
       "tokens" = LEAST(EXCLUDED."tokens" + 1,
         "RateLimitBucket"."tokens"
         + EXTRACT(EPOCH FROM (clock_timestamp() - "RateLimitBucket"."refilledAt"))
           * (SELECT rate FROM unnest($1::text[], $3::float8[]) AS r(window_key, rate) WHERE r.window_key = "RateLimitBucket"."key")) - 1,
       "refilledAt" = clock_timestamp()
     RETURNING "key", "tokens"`,
    [keys, limits.map((limit) => limit.burst), limits.map((limit) => limit.ratePerSecond)],
  );
  const rateOf = new Map(keys.map((key, index) => [key, limits[index]!.ratePerSecond]));
  return rows.reduce((wait, row) => (row.tokens >= 0 ? wait : Math.max(wait, Math.ceil((-row.tokens / rateOf.get(row.key)!) * 1000))), 0);
}

/**
 * Wait until a call under every one of `limits` is allowed (e.g. Klaviyo's burst and steady
 * windows), then return. `key` names the API, account and endpoint tier.
 */
export async function acquire(key: string, limits: BucketLimit | BucketLimit[]): Promise<number> {
  const all = Array.isArray(limits) ? limits : [limits];
  const waitMs = all.length === 1 ? await reserve(key, all[0]!) : await reserveAll(all.map((_, index) => `${key}#${index}`), all);
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
    await giveBack(key);
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
  await giveBack(key);
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
