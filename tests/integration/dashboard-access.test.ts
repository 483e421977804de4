// Who may see and do what in the dashboard, checked on the server at every door: the JSON routes
// with real session cookies, the account check behind every page and action, the sign-in policy,
// the Kommo provider's code exchange on the account's own host, the return from Kommo's consent
// page, and the widget's signed link into the dashboard.
import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GET as listAccounts } from "@/app/api/dashboard/accounts/route";
import { GET as syncLogRoute } from "@/app/api/dashboard/accounts/[accountId]/sync-log/route";
import { POST as dashboardLink } from "@/app/api/widget/dashboard-link/route";
import { GET as enterRoute } from "@/app/dashboard/enter/route";
import { AccountNotVisibleError, authorizeAccount } from "@/lib/features/dashboard/access";
import { stateCookieName } from "@/lib/features/dashboard/auth/cookies";
import { entryLink, verifyEntryTicket } from "@/lib/features/dashboard/auth/entry";
import { KommoSignInError, kommoProvider } from "@/lib/features/dashboard/auth/kommo-provider";
import { viewerFromRequest } from "@/lib/features/dashboard/auth/session";
import { dashboardSignInReturn } from "@/lib/features/dashboard/auth/sign-in-return";
import { signInRefusal } from "@/lib/features/dashboard/auth/sign-in-policy";
import { viewerFromClaims, type Viewer } from "@/lib/features/dashboard/auth/viewer";
import { db } from "@/lib/db/client";
import { getEnv, resetEnvForTests } from "@/lib/platform/env";
import { addKommoUser, type KommoSimulator } from "../simulators/kommo";
import { widgetToken } from "../helpers/widget-token";
import { adminOf, cookieFor, insertLogRows } from "./dashboard-fixtures";
import { closeConnections, installAccount, startKommo, type InstalledAccount } from "./kommo-fixtures";

const OPERATOR = "ops@sync-operator.example";
let kommo: KommoSimulator;
let a: InstalledAccount;
let b: InstalledAccount;

beforeAll(async () => {
  process.env.OPERATOR_EMAILS = `someone@else.example, ${OPERATOR.toUpperCase()}`;
  kommo = await startKommo();
  a = await installAccount(kommo);
  b = await installAccount(kommo);
  await insertLogRows(a.accountId, [{ leadId: 11, status: "ok", createdAt: new Date() }]);
  await insertLogRows(b.accountId, [{ leadId: 22, status: "failed", createdAt: new Date(), error: "secret of B" }]);
});

beforeEach(() => resetEnvForTests());

afterAll(async () => {
  delete process.env.OPERATOR_EMAILS;
  resetEnvForTests();
  await closeConnections(kommo);
});

const params = <P>(value: P) => ({ params: Promise.resolve(value) });

async function get(route: typeof listAccounts, url: string, cookie?: string) {
  const response = await route(new Request(url, { headers: cookie ? { cookie } : {} }), params({} as never));
  return { status: response.status, body: await response.json() };
}

async function getLog(accountId: string, cookie?: string, query = "") {
  const response = await syncLogRoute(new Request(`http://127.0.0.1/api/dashboard/accounts/${accountId}/sync-log${query}`, { headers: cookie ? { cookie } : {} }), params({ accountId }));
  return { status: response.status, body: await response.json() };
}

describe("the dashboard API", () => {
  it("answers 401 without a session, and with a forged or foreign one", async () => {
    expect(await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts")).toMatchObject({ status: 401, body: { error: { code: "not_signed_in" } } });
    const forged = await encode({ token: adminOf(a.kommoAccountId), secret: "another-secret-that-is-long-enough-0000", maxAge: 60 });
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", `next-auth.session-token=${forged}`)).status).toBe(401);
    const expired = await encode({ token: adminOf(a.kommoAccountId), secret: getEnv().AUTH_SECRET, maxAge: -60 });
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", `next-auth.session-token=${expired}`)).status).toBe(401);
    const wrongShape = await encode({ token: { sub: "x", kommoAccountId: "a" }, secret: getEnv().AUTH_SECRET, maxAge: 60 });
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", `next-auth.session-token=${wrongShape}`)).status).toBe(401);
  });

  it("shows an admin of account A account A only, and answers 404 for B's log as for an account that does not exist", async () => {
    const cookie = await cookieFor(adminOf(a.kommoAccountId));
    const listed = await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", cookie);
    expect(listed.status).toBe(200);
    expect(listed.body.accounts.map((account: { id: string }) => account.id)).toEqual([a.accountId]);
    expect(JSON.stringify(listed.body)).not.toMatch(/hookKey|TokenEnc|klaviyoApiKeyEnc/);

    const own = await getLog(a.accountId, cookie);
    expect(own.status).toBe(200);
    expect(own.body.rows.map((row: { leadId: number }) => row.leadId)).toEqual([11]);
    const foreign = await getLog(b.accountId, cookie);
    expect(foreign).toMatchObject({ status: 404, body: { error: { code: "account_not_found" } } });
    expect(JSON.stringify(foreign.body)).not.toContain("secret of B");
    expect(await getLog("00000000-0000-4000-8000-000000000000", cookie)).toMatchObject({ status: 404 });
    expect(await getLog("not-a-uuid", cookie)).toMatchObject({ status: 404 });
  });

  it("shows a Kommo user who is not an admin nothing, even of their own account", async () => {
    const cookie = await cookieFor(adminOf(a.kommoAccountId, { isAdmin: false }));
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", cookie)).body.accounts).toEqual([]);
    expect((await getLog(a.accountId, cookie)).status).toBe(404);
  });

  it("shows an operator every account; the operator e-mail counts only from a Kommo sign-in", async () => {
    const operator = await cookieFor(adminOf(a.kommoAccountId, { email: OPERATOR, isAdmin: false }));
    const ids = (await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", operator)).body.accounts.map((account: { id: string }) => account.id);
    expect(ids).toEqual(expect.arrayContaining([a.accountId, b.accountId]));
    expect((await getLog(b.accountId, operator)).status).toBe(200);
    const viaWidget = await cookieFor(adminOf(a.kommoAccountId, { email: OPERATOR, via: "widget" }));
    expect((await getLog(b.accountId, viaWidget)).status).toBe(404);
  });

  it("refuses bad filters with a 400 that says which one", async () => {
    const cookie = await cookieFor(adminOf(a.kommoAccountId));
    expect(await getLog(a.accountId, cookie, "?status=exploded")).toMatchObject({ status: 400, body: { error: { code: "invalid_filter" } } });
    const cursor = await getLog(a.accountId, cookie, "?cursor=Zm9yZ2Vk");
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.message).toMatch(/^cursor:/);
  });
});

describe("the account check behind every page and action", () => {
  const viewer = (overrides: Partial<Viewer> = {}): Viewer => ({ ...viewerFromClaims(adminOf(a.kommoAccountId), getEnv()), ...overrides });

  it("gives an admin their account and nothing else", async () => {
    expect((await authorizeAccount(viewer(), a.accountId)).id).toBe(a.accountId);
    await expect(authorizeAccount(viewer(), b.accountId)).rejects.toBeInstanceOf(AccountNotVisibleError);
    await expect(authorizeAccount(viewer({ isAdmin: false }), a.accountId)).rejects.toBeInstanceOf(AccountNotVisibleError);
    await expect(authorizeAccount(viewer(), "'; DROP TABLE \"Account\"; --")).rejects.toBeInstanceOf(AccountNotVisibleError);
    expect((await authorizeAccount(viewer({ operator: true, isAdmin: false }), b.accountId)).id).toBe(b.accountId);
  });
});

describe("signing in", () => {
  const profile = (overrides: object = {}) => ({
    sub: "x",
    kommoAccountId: a.kommoAccountId,
    kommoUserId: 5,
    subdomain: a.subdomain,
    accountName: "A",
    userName: "Ann",
    userEmail: "ann@a.example",
    isAdmin: true,
    ...overrides,
  });

  it("lets in admins of installed accounts and operators; turns away everyone else with the reason", async () => {
    const env = getEnv();
    expect(await signInRefusal(profile(), env)).toBeNull();
    expect(await signInRefusal(profile({ isAdmin: false }), env)).toBe("not_admin");
    expect(await signInRefusal(profile({ kommoAccountId: 1_234_567 }), env)).toBe("not_installed");
    expect(await signInRefusal(profile({ kommoAccountId: 1_234_567, isAdmin: false, userEmail: OPERATOR }), env)).toBeNull();
    await db().account.update({ where: { id: b.accountId }, data: { status: "disconnected" } });
    try {
      expect(await signInRefusal(profile({ kommoAccountId: b.kommoAccountId }), env)).toBe("not_installed");
    } finally {
      await db().account.update({ where: { id: b.accountId }, data: { status: "installed" } });
    }
  });

  it("exchanges the code on the account's own host and reads who signed in and whether they are an admin", async () => {
    const provider = kommoProvider(getEnv());
    const manager = addKommoUser(kommo.store, a.kommoAccountId, { name: "Sam Sales", email: "Sam@A.example", isAdmin: false });
    const exchange = (code: string, iss: string) =>
      (provider.token as { request: (context: unknown) => Promise<{ tokens: unknown }> }).request({ params: { code, iss } });
    const userinfo = (tokens: unknown) => (provider.userinfo as { request: (context: unknown) => Promise<unknown> }).request({ tokens });

    const { tokens } = await exchange(kommo.issueCode(a.kommoAccountId, manager.id), `https://${a.subdomain}.kommo.com`);
    expect(await userinfo(tokens)).toEqual({
      sub: `${a.kommoAccountId}:${manager.id}`,
      kommoAccountId: a.kommoAccountId,
      kommoUserId: manager.id,
      subdomain: a.subdomain,
      accountName: kommo.account(a.kommoAccountId).name,
      userName: "Sam Sales",
      userEmail: "sam@a.example",
      isAdmin: false,
    });
    const admin = await exchange(kommo.issueCode(a.kommoAccountId), `https://${a.subdomain}.kommo.com`);
    expect(await userinfo(admin.tokens)).toMatchObject({ kommoUserId: kommo.account(a.kommoAccountId).users[0]!.id, isAdmin: true });
  });

  it("never sends the client secret to a host that is not a Kommo account", async () => {
    const provider = kommoProvider(getEnv());
    const exchange = (iss: string) => (provider.token as { request: (context: unknown) => Promise<unknown> }).request({ params: { code: "abc", iss } });
    const before = kommo.count("POST /oauth2/access_token");
    for (const iss of ["https://evil.example", "https://www.kommo.com", "https://acme.kommo.com.evil.example", "https://acme.kommo.com:8443", "https://acme.kommo.com/x"]) {
      await expect(exchange(iss)).rejects.toBeInstanceOf(KommoSignInError);
    }
    await expect((provider.token as { request: (context: unknown) => Promise<unknown> }).request({ params: { code: "abc" } })).rejects.toBeInstanceOf(KommoSignInError);
    expect(kommo.count("POST /oauth2/access_token")).toBe(before);
  });

  it("hands Kommo's consent answer to next-auth only when its state is this browser's sign-in state", async () => {
    const env = getEnv();
    const cookieName = stateCookieName(env);
    const sealed = await encode({ token: { value: "state-123", provider: "kommo" }, secret: env.AUTH_SECRET, salt: cookieName, maxAge: 900 });
    const answer = (query: string, cookie?: string) =>
      dashboardSignInReturn(new Request(`http://127.0.0.1/api/kommo/oauth/callback?${query}`, { headers: cookie ? { cookie: `${cookieName}=${cookie}` } : {} }), env);

    const forwarded = await answer(`code=c1&state=state-123&referer=${a.subdomain}.kommo.com&client_id=x`, sealed);
    expect(forwarded?.status).toBe(302);
    const location = new URL(forwarded!.headers.get("location")!);
    expect(`${location.origin}${location.pathname}`).toBe(`${env.APP_URL}/api/auth/callback/kommo`);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ code: "c1", state: "state-123", iss: `https://${a.subdomain}.kommo.com` });

    expect(await answer("code=c1&state=state-999&referer=x.kommo.com", sealed)).toBeNull();
    expect(await answer("code=c1&state=state-123&referer=x.kommo.com")).toBeNull();
    expect(await answer("code=c1&state=state-123&referer=x.kommo.com", "garbage")).toBeNull();
    expect(await answer("code=c1&referer=x.kommo.com&from_widget=1", sealed)).toBeNull();
    const otherSecret = await encode({ token: { value: "state-123", provider: "kommo" }, secret: "x".repeat(40), salt: cookieName, maxAge: 900 });
    expect(await answer("code=c1&state=state-123&referer=x.kommo.com", otherSecret)).toBeNull();
  });
});

describe("the widget's door into the dashboard", () => {
  const origin = () => `https://${a.subdomain}.kommo.com`;
  const askForLink = async (token: string) => {
    const response = await dashboardLink(new Request("http://127.0.0.1/api/widget/dashboard-link", { method: "POST", headers: { "X-Auth-Token": token, Origin: origin() } }), params({}));
    return { status: response.status, body: await response.json() };
  };

  it("gives an admin a one-minute link that becomes a session for their account", async () => {
    const adminId = kommo.account(a.kommoAccountId).users[0]!.id;
    const link = await askForLink(await widgetToken({ accountId: a.kommoAccountId, userId: adminId, subdomain: a.subdomain, isAdmin: true }));
    expect(link.status).toBe(200);
    expect(link.body.url).toMatch(new RegExp(`^${getEnv().APP_URL}/dashboard/enter\\?ticket=`));
    expect(Date.parse(link.body.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);

    const entered = await enterRoute(new Request(link.body.url));
    expect(entered.status).toBe(303);
    expect(entered.headers.get("location")).toBe(`${getEnv().APP_URL}/dashboard/accounts/${a.accountId}`);
    const setCookie = entered.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^next-auth\.session-token=/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=lax/i);
    const viewer = await viewerFromRequest(new Request("http://127.0.0.1/", { headers: { cookie: setCookie.split(";")[0]! } }));
    expect(viewer).toMatchObject({ kommoAccountId: a.kommoAccountId, kommoUserId: adminId, isAdmin: true, operator: false, via: "widget" });
  });

  it("refuses users who are not admins, and links that are forged or expired", async () => {
    const manager = await askForLink(await widgetToken({ accountId: a.kommoAccountId, userId: 4242, subdomain: a.subdomain, isAdmin: false }));
    expect(manager).toMatchObject({ status: 403, body: { error: { code: "admin_only" } } });

    const stale = await entryLink({ kommoAccountId: a.kommoAccountId, kommoUserId: 1 }, getEnv(), new Date(Date.now() - 5 * 60_000));
    expect(await verifyEntryTicket(new URL(stale.url).searchParams.get("ticket"))).toEqual({ ok: false, reason: "expired" });
    for (const url of [stale.url, `${getEnv().APP_URL}/dashboard/enter?ticket=forged`, `${getEnv().APP_URL}/dashboard/enter`]) {
      const response = await enterRoute(new Request(url));
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toBe(`${getEnv().APP_URL}/dashboard/sign-in?error=session_expired`);
      expect(response.headers.get("set-cookie")).toBeNull();
    }
  });
});
