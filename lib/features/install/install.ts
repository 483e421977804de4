// Installing the integration into a Kommo account: code -> tokens -> account -> CRM webhook.
//
// The steps form a small state machine whose state can be stored in a job: Kommo's server-to-server
// install call gives us 3 seconds and is never resent, so whatever cannot finish inline continues in
// the `kommo-install` queue from the step it reached (the code is single-use: after the exchange,
// only the tokens it produced can carry the install further).
import { randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import { db, Prisma } from "@/lib/db/client";
import { decryptSecret, encryptSecret } from "@/lib/platform/crypto";
import { getEnv } from "@/lib/platform/env";
import { logger } from "@/lib/platform/log";
import { clientWithToken, kommoClientFor } from "@/lib/integrations/kommo/account-client";
import type { KommoAccount } from "@/lib/integrations/kommo/api-schemas";
import { isRetryable } from "@/lib/outcomes";
import { afterInstall } from "@/lib/orchestration";
import { exchangeAuthorizationCode, type TokenPair } from "@/lib/integrations/kommo/oauth";
import { hostRateKey, takeUnverifiedSlot, unverifiedRateKey } from "@/lib/integrations/kommo/rate";
import { sealTokenPair } from "@/lib/integrations/kommo/tokens";
import { readAccountLocale, type AccountLocale } from "./account-locale";

/** The CRM events the integration subscribes to. */
export const CRM_WEBHOOK_EVENTS = ["add_lead", "update_lead", "status_lead", "delete_lead", "update_contact", "update_company"] as const;

const host = z.string().min(1);
export const installProgressSchema = z.discriminatedUnion("step", [
  z.object({ step: z.literal("exchange"), host, codeEnc: z.string().min(1) }),
  z.object({ step: z.literal("account"), host, tokensEnc: z.string().min(1) }),
  z.object({ step: z.literal("webhook"), accountId: z.uuid() }),
]);
export type InstallProgress = z.infer<typeof installProgressSchema>;

export type InstallOutcome =
  | { done: true; accountId: string; accountName: string | null; webhookRegistered: boolean }
  | { done: false; next: InstallProgress; error: unknown };

const codeContext = (accountHost: string) => `kommo-install:${accountHost}:code`;
const tokensContext = (accountHost: string) => `kommo-install:${accountHost}:tokens`;

const installTokensSchema = z.object({ accessToken: z.string(), refreshToken: z.string(), expiresAt: z.iso.datetime() });

/** The first state of an install; the code is sealed because the state may be stored in a job. */
export function beginInstall(accountHost: string, code: string): InstallProgress {
  return { step: "exchange", host: accountHost, codeEnc: encryptSecret(code, codeContext(accountHost)) };
}

export const crmWebhookUrl = (hookKey: string) => `${getEnv().APP_URL}/api/kommo/webhooks/${hookKey}`;

/** An unguessable key for the CRM webhook URL (Kommo does not sign CRM webhooks). */
export const newHookKey = () => randomBytes(32).toString("base64url");

const isUniqueViolation = (error: unknown) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";

/** Create the account, or update it on a reinstall (same row, same hook key, new tokens). */
export async function saveInstalledAccount(accountHost: string, account: KommoAccount, pair: TokenPair, locale?: AccountLocale) {
  const upsert = () =>
    db().$transaction(async (tx) => {
      // Locked like a token refresh (tokens.ts), so the two never interleave their token writes.
      const existing = await tx.$queryRaw<{ id: string }[]>`
        SELECT "id" FROM "Account" WHERE "kommoAccountId" = ${account.id} FOR UPDATE`;
      const id = existing[0]?.id ?? randomUUID();
      const fields = {
        host: accountHost,
        subdomain: account.subdomain,
        name: account.name,
        currency: account.currency ?? null,
        country: account.country ?? null,
        ...(locale && { ...locale, kommoSettingsReadAt: new Date() }),
        status: "installed" as const,
        statusReason: null,
        disconnectedAt: null,
        ...sealTokenPair(id, pair),
      };
      if (existing[0]) return tx.account.update({ where: { id }, data: fields, select: { id: true, name: true } });
      return tx.account.create({ data: { id, kommoAccountId: account.id, hookKey: newHookKey(), ...fields }, select: { id: true, name: true } });
    });
  try {
    return await upsert();
  } catch (error) {
    // Two installs of a new account at once: the other one created the row, so this one updates it.
    if (isUniqueViolation(error)) return upsert();
    throw error;
  }
}

/**
 * Subscribe to the CRM events. Kommo identifies a webhook by its destination, so an existing one is
 * reused when it is complete and enabled, and replaced otherwise. A refusal that retrying cannot fix
 * (e.g. a plan without API webhooks) leaves the account installed with a reason a person can act on.
 */
export async function registerCrmWebhook(accountId: string, signal?: AbortSignal): Promise<boolean> {
  const { hookKey } = await db().account.findUniqueOrThrow({ where: { id: accountId }, select: { hookKey: true } });
  const destination = crmWebhookUrl(hookKey);
  const client = await kommoClientFor(accountId, signal);
  try {
    const existing = (await client.listWebhooks(destination)).find((webhook) => webhook.destination === destination);
    let webhookId = existing?.id;
    const complete = existing && !existing.disabled && CRM_WEBHOOK_EVENTS.every((event) => existing.settings.includes(event));
    if (!complete) {
      if (existing) await client.deleteWebhook(destination);
      webhookId = (await client.registerWebhook({ destination, settings: CRM_WEBHOOK_EVENTS })).id;
    }
    await db().account.update({ where: { id: accountId }, data: { kommoWebhookId: webhookId, webhookRegisteredAt: new Date() } });
    return true;
  } catch (error) {
    if (isRetryable(error)) throw error;
    const why = error instanceof Error ? error.message : String(error);
    await db().account.update({
      where: { id: accountId },
      data: {
        kommoWebhookId: null,
        webhookRegisteredAt: null,
        statusReason:
          `Kommo did not accept the deal webhook (${why}). Deal changes will not reach Klaviyo until a Kommo ` +
          "admin reinstalls the integration (API webhooks need an Advanced plan or higher).",
      },
    });
    logger().warn({ accountId, err: why }, "Kommo refused the CRM webhook registration");
    return false;
  }
}

/**
 * Run the install from `progress` to the end. A retryable failure returns the step reached, to be
 * continued later; any other failure is thrown.
 */
export async function advanceInstall(progress: InstallProgress, signal?: AbortSignal): Promise<InstallOutcome> {
  let current = progress;
  let accountName: string | null = null;
  try {
    for (;;) {
      if (current.step === "exchange") {
        // Until Kommo accepts the code, nobody has shown this install is real: its own, short budget.
        const rateKey = unverifiedRateKey(current.host);
        await takeUnverifiedSlot(current.host, signal);
        const code = decryptSecret(current.codeEnc, codeContext(current.host));
        const pair = await exchangeAuthorizationCode(current.host, code, rateKey, signal);
        const sealed = encryptSecret(JSON.stringify({ ...pair, expiresAt: pair.expiresAt.toISOString() }), tokensContext(current.host));
        current = { step: "account", host: current.host, tokensEnc: sealed };
      } else if (current.step === "account") {
        const stored = installTokensSchema.parse(JSON.parse(decryptSecret(current.tokensEnc, tokensContext(current.host))));
        const pair: TokenPair = { ...stored, expiresAt: new Date(stored.expiresAt) };
        // Kommo accepted the code: from here the install is real, and junk cannot reach this budget.
        const client = clientWithToken(current.host, pair.accessToken, hostRateKey(current.host), signal);
        const account = await client.getAccount({ datetimeSettings: true });
        const saved = await saveInstalledAccount(current.host, account, pair, await readAccountLocale(client, account));
        accountName = saved.name;
        logger().info({ accountId: saved.id, kommoAccountId: account.id }, "Kommo account installed");
        current = { step: "webhook", accountId: saved.id };
      } else {
        const webhookRegistered = await registerCrmWebhook(current.accountId, signal);
        await afterInstall(current.accountId);
        accountName ??= (await db().account.findUnique({ where: { id: current.accountId }, select: { name: true } }))?.name ?? null;
        return { done: true, accountId: current.accountId, accountName, webhookRegistered };
      }
    }
  } catch (error) {
    if (isRetryable(error)) return { done: false, next: current, error };
    throw error;
  }
}
