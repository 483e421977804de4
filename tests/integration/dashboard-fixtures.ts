// Shared setup of the dashboard's integration tests: accounts and sync-log rows written straight
// into the database (the dashboard only reads them), session cookies, and "Sign in with Kommo" as a
// browser goes through it.
import { randomInt, randomUUID } from "node:crypto";
import { db, numberIds } from "@/lib/db/client";
import type { AuthorizedAccount } from "@/lib/features/dashboard/access";
import { POST as signInRoute } from "@/app/api/auth/sign-in/route";
import { GET as oauthCallback } from "@/app/api/kommo/oauth/callback/route";
import { openSession, type SessionOptions } from "@/lib/features/dashboard/auth/sessions";
import type { SessionClaims } from "@/lib/features/dashboard/auth/viewer";
import { getEnv } from "@/lib/platform/env";
import type { KommoSimulator } from "../simulators/kommo";
import { sql } from "./kommo-fixtures";

/** An installed account row without a Kommo behind it (for tests that never call Kommo). */
export async function createAccountRow(input: { name?: string; paused?: boolean; klaviyoKeyHint?: string } = {}): Promise<AuthorizedAccount> {
  const kommoAccountId = randomInt(20_000_000, 2_000_000_000);
  const account = await db().account.create({
    data: {
      kommoAccountId,
      subdomain: `dash${kommoAccountId}`,
      host: `dash${kommoAccountId}.kommo.com`,
      name: input.name ?? `Dashboard ${kommoAccountId}`,
      hookKey: randomUUID(),
      paused: input.paused ?? false,
      webhookRegisteredAt: new Date(),
      klaviyoKeyHint: input.klaviyoKeyHint ?? null,
    },
  });
  // Tests stand in for the authorization that pages and routes do.
  return numberIds(account) as AuthorizedAccount;
}

export type LogInput = {
  leadId: number;
  status: "ok" | "skipped" | "retrying" | "failed";
  createdAt: Date;
  error?: string;
  errorCode?: string;
  resolution?: string;
  durationMs?: number;
  kommoCalls?: number;
  klaviyoCalls?: number;
};

/** Sync-log rows as the sync job writes them (UTC timestamps, as Prisma stores them). */
export async function insertLogRows(accountId: string, rows: LogInput[]): Promise<string[]> {
  const ids: string[] = [];
  for (const row of rows) {
    const id = randomUUID();
    ids.push(id);
    await sql(
      `INSERT INTO "SyncLog" (id, "accountId", "leadId", trigger, status, error, "errorCode", resolution, "durationMs", "kommoCalls", "klaviyoCalls", "createdAt", "startedAt")
       VALUES ($1, $2, $3, 'status_lead', $4::"SyncStatus", $5, $6, $7, $8, $9, $10, $11::timestamptz, $11::timestamptz)`,
      [id, accountId, row.leadId, row.status, row.error ?? null, row.errorCode ?? null, row.resolution ?? null, row.durationMs ?? 100, row.kommoCalls ?? 0, row.klaviyoCalls ?? 0, row.createdAt.toISOString()],
    );
  }
  return ids;
}

/** The Cookie header of a signed-in browser. */
export async function cookieFor(claims: SessionClaims, options: SessionOptions = {}, now = new Date()): Promise<string> {
  const cookie = await openSession(claims, options, getEnv(), now);
  return `${cookie.name}=${cookie.value}`;
}

/** `name=value` of each Set-Cookie of a response. */
export const setCookies = (response: Response) => new Map(response.headers.getSetCookie().map((line) => line.split(";")[0]!.split(/=(.*)/s).slice(0, 2) as [string, string]));

/**
 * "Sign in with Kommo" as a browser does it: the sign-in form's post, Kommo's consent page
 * answered with "Allow" by `userId` of `kommoAccountId` (a code the simulator issues for them),
 * and the answer delivered to the Redirect URI with this browser's cookies. `answer` changes what
 * comes back to the Redirect URI (another state, an error) to play an attacker or a refusal.
 */
export async function signInThroughKommo(
  kommo: KommoSimulator,
  kommoAccountId: number,
  options: { userId?: number; returnTo?: string; answer?: (query: URLSearchParams) => void; cookie?: (cookie: string) => string } = {},
) {
  const env = getEnv();
  const form = new FormData();
  form.set("callbackUrl", options.returnTo ?? "/dashboard");
  const started = await signInRoute(new Request(`${env.APP_URL}/api/auth/sign-in`, { method: "POST", body: form, headers: { Origin: env.APP_URL } }));
  const consent = new URL(started.headers.get("location")!);
  const stateCookie = [...setCookies(started)].map(([name, value]) => `${name}=${value}`).join("; ");
  const account = kommo.account(kommoAccountId);
  const query = new URLSearchParams({
    code: kommo.issueCode(kommoAccountId, options.userId ?? account.users[0]!.id),
    referer: `${account.subdomain}.kommo.com`,
    state: consent.searchParams.get("state")!,
    client_id: consent.searchParams.get("client_id")!,
  });
  options.answer?.(query);
  const returned = await oauthCallback(
    new Request(`${env.APP_URL}/api/kommo/oauth/callback?${query}`, { headers: { cookie: options.cookie ? options.cookie(stateCookie) : stateCookie } }),
  );
  const session = [...setCookies(returned)].find(([name, value]) => name.endsWith("kss-session") && value !== "");
  return { started, consent, returned, location: returned.headers.get("location"), cookie: session ? `${session[0]}=${session[1]}` : null };
}

export const adminOf = (kommoAccountId: number, overrides: Partial<SessionClaims> = {}): SessionClaims => ({
  kommoAccountId,
  kommoUserId: 1001,
  isAdmin: true,
  name: "Admin",
  email: `admin@${kommoAccountId}.example`,
  via: "kommo",
  ...overrides,
});
