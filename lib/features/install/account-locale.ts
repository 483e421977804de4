// The Kommo account's language and time zone, which activity notes are written in: read at install
// and refreshed daily (queue `account-locale`, queued by the minute tick), since an admin may change
// them. Where each comes from in Kommo's API is written down in docs/kommo-account-settings.md:
// the time zone is `_embedded.datetime_settings.timezone` of GET /api/v4/account?with=datetime_settings;
// Kommo's v4 account has no language of its own, so it is the account's `language` when Kommo sends
// it and otherwise the `lang` of the user who installed (or last refreshed) the integration.
import { z } from "zod";
import { db } from "@/lib/db/client";
import { defineJob } from "@/lib/jobs/define-job";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import type { KommoAccount } from "@/lib/integrations/kommo/api-schemas";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import { KommoApiError } from "@/lib/integrations/kommo/errors";
import { validTimeZone } from "@/lib/features/activity/note-text";

export const LOCALE_REFRESH_MS = 24 * 3600 * 1000;

export type AccountLocale = { language: string | null; timezone: string | null };

/** Language and time zone from an account read with `datetimeSettings`, asking for the users only when needed. */
export async function readAccountLocale(client: KommoClient, account: KommoAccount): Promise<AccountLocale> {
  const timezone = validTimeZone(account._embedded?.datetime_settings?.timezone);
  let language = account.language?.trim().toLowerCase() || null;
  if (!language && account.current_user_id) {
    try {
      const users = await client.getUsers();
      language = users.find((user) => user.id === account.current_user_id)?.lang?.trim().toLowerCase() || null;
    } catch (error) {
      // The users list is for admins; without it the notes are in English, which is not worth a failed install.
      if (!(error instanceof KommoApiError) || error.retryable) throw error;
    }
  }
  return { language, timezone };
}

/** Read the account's language and time zone from Kommo again and keep them. */
export async function refreshAccountLocale(accountId: string): Promise<AccountLocale | null> {
  const account = await db().account.findUnique({ where: { id: accountId }, select: { status: true } });
  if (!account || account.status !== "installed") return null;
  const client = await kommoClientFor(accountId);
  const locale = await readAccountLocale(client, await client.getAccount({ datetimeSettings: true }));
  await db().account.update({ where: { id: accountId }, data: { ...locale, kommoSettingsReadAt: new Date() } });
  return locale;
}

/** Accounts whose language and time zone were read more than a day ago (or never). */
export const localeDue = (readAt: Date | null, now: Date) => !readAt || now.getTime() - readAt.getTime() >= LOCALE_REFRESH_MS;

export const accountLocaleJob = defineJob({
  name: "account-locale",
  payload: z.object({ accountId: z.uuid() }),
  queue: { policy: "short", retryLimit: 3, retryDelay: 300, retryBackoff: true, expireInSeconds: 300 },
  concurrency: 1,
  run: async ({ accountId }, context) => {
    const locale = await refreshAccountLocale(accountId);
    if (locale) context.log.debug({ accountId, ...locale }, "Kommo account language and time zone read");
  },
});
