// Kommo retires a refresh token left unused for three months, and an account whose deals do not
// move never needs a new access token, so nothing would renew it: the account would lose its
// connection for being quiet. Once a day, the pairs of accounts whose last refresh is more than
// a few weeks old are renewed. A refusal takes the account to needs_reauth (tokens.ts), which the
// dashboard shows with its fix.
import { z } from "zod";
import { db } from "@/lib/db/client";
import { defineJob, type JobContext } from "@/lib/jobs/define-job";
import { isKommoError } from "@/lib/integrations/kommo/errors";
import { renewAccessToken } from "@/lib/integrations/kommo/tokens";

/** Kommo's access tokens live a day: an expiry this far back means the pair was last renewed about this long ago. */
export const IDLE_TOKEN_DAYS = 21;
/** One account's renewal at most this long (a token call plus the row lock). */
const PER_ACCOUNT_DEADLINE_MS = 60_000;

export async function refreshIdleTokens(context?: Pick<JobContext, "log">, now = new Date()) {
  const before = new Date(now.getTime() - IDLE_TOKEN_DAYS * 86_400_000);
  const idle = await db().account.findMany({
    where: { status: "installed", refreshTokenEnc: { not: null }, accessTokenExpiresAt: { lt: before } },
    select: { id: true },
    orderBy: { accessTokenExpiresAt: "asc" },
  });
  let refreshed = 0;
  let failed = 0;
  for (const account of idle) {
    try {
      await renewAccessToken(account.id, undefined, AbortSignal.timeout(PER_ACCOUNT_DEADLINE_MS));
      refreshed++;
    } catch (error) {
      failed++;
      // needs_reauth is already recorded on the account; anything else is tried again tomorrow.
      context?.log.warn({ accountId: account.id, code: isKommoError(error) ? error.code : undefined }, "idle Kommo tokens could not be renewed");
    }
  }
  return { idle: idle.length, refreshed, failed };
}

export const refreshIdleTokensJob = defineJob({
  name: "refresh-idle-tokens",
  payload: z.object({}),
  queue: { policy: "short", retryLimit: 2, retryDelay: 600, expireInSeconds: 3600 },
  concurrency: 1,
  cron: "23 4 * * *",
  run: async (_payload, context) => {
    context.log.info(await refreshIdleTokens(context), "idle Kommo tokens renewed");
  },
});
