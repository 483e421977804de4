// The open doors of the install flow (the Redirect URI and oauth/start) take requests from anyone,
// with nothing to verify until Kommo has accepted a code. What keeps them from being used against
// us or against an account:
//  - a budget per client address, answered 429 with Retry-After beyond it (the address comes from
//    X-Forwarded-For only as far as TRUSTED_PROXY_HOPS says proxies of ours wrote it);
//  - each code taken once (by its SHA-256): the same code twice is exchanged once;
//  - a daily prune of the rows made from outside input (idle rate buckets, codes seen).
import { createHash } from "node:crypto";
import { z } from "zod";
import { db } from "@/lib/db/client";
import { defineJob } from "@/lib/jobs/define-job";
import { getEnv } from "@/lib/platform/env";
import { jsonError } from "@/lib/platform/http/errors";
import { pruneIdleBuckets, tryTake, type BucketLimit } from "@/lib/rate-limit";

/**
 * Per client address, for the unauthenticated install and consent doors together. Kommo's own
 * install calls come from Kommo's servers for every account installing at once, hence a burst well
 * above what one person needs.
 */
export const DOOR_LIMIT: BucketLimit = { ratePerSecond: 1, burst: 30 };

/** The key of the caller's address: unknown (one shared budget) unless proxies are trusted. */
export function clientAddress(request: Request, trustedHops = getEnv().TRUSTED_PROXY_HOPS): string {
  if (trustedHops === 0) return "direct";
  const hops = (request.headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((hop) => hop.trim())
    .filter(Boolean);
  // Each trusted proxy appends the address it received from; the entry our outermost proxy wrote is
  // the client as far as anything we trust can tell. Entries left of it are the caller's own words.
  const address = hops.length >= trustedHops ? hops[hops.length - trustedHops] : hops[0];
  return address && /^[0-9a-fA-F:.]{2,45}$/.test(address) ? address.toLowerCase() : "unknown";
}

/** null: the caller may go on; otherwise the 429 to answer. */
export async function doorThrottle(request: Request): Promise<Response | null> {
  const waitMs = await tryTake(`door:${clientAddress(request)}`, DOOR_LIMIT);
  if (waitMs === 0) return null;
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return jsonError(429, "rate_limited", `too many requests from this address; try again in ${seconds} s`, { "Retry-After": String(seconds) });
}

export const codeHash = (code: string) => createHash("sha256").update(code, "utf8").digest("hex");

/** True the first time this code arrives; false when it was taken already (it is not exchanged again). */
export async function takeCodeOnce(code: string): Promise<boolean> {
  const inserted = await db().$executeRaw`
    INSERT INTO "InstallCodeSeen" ("codeHash") VALUES (${codeHash(code)}) ON CONFLICT ("codeHash") DO NOTHING`;
  return inserted === 1;
}

/** The code was not sent to Kommo after all (refused for budget): it may be received again. */
export async function forgetCode(code: string): Promise<void> {
  await db().$executeRaw`DELETE FROM "InstallCodeSeen" WHERE "codeHash" = ${codeHash(code)}`;
}

/** Kommo's codes live 20 minutes; a day is far past any replay that could still be exchanged. */
const CODE_MEMORY_HOURS = 24;

export async function pruneDoorState(): Promise<{ buckets: number; codes: number }> {
  const buckets = await pruneIdleBuckets(24);
  const codes = await db().$executeRaw`
    DELETE FROM "InstallCodeSeen" WHERE "seenAt" < clock_timestamp() - make_interval(hours => ${CODE_MEMORY_HOURS}::int)`;
  return { buckets, codes };
}

export const pruneDoorStateJob = defineJob({
  name: "prune-door-state",
  payload: z.object({}),
  queue: { policy: "short", retryLimit: 2, retryDelay: 300, expireInSeconds: 600 },
  concurrency: 1,
  cron: "41 3 * * *",
  run: async (_payload, context) => {
    context.log.info(await pruneDoorState(), "idle rate buckets and old install codes pruned");
  },
});
