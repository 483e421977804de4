// Who may see and do what in the dashboard, checked on the server at every door: the JSON routes
// with real session cookies, the account check behind every page and action, the sign-in policy,
// "Sign in with Kommo" through the Redirect URI it shares with installs, the sessions' lifetime and
// admin re-check, sign-out, and the widget's single-use link into the dashboard.
import { createHash, randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { POST as signInRoute } from "@/app/api/auth/sign-in/route";
import { POST as signOutRoute } from "@/app/api/auth/sign-out/route";
import { GET as listAccounts } from "@/app/api/dashboard/accounts/route";
import { GET as syncLogRoute } from "@/app/api/dashboard/accounts/[accountId]/sync-log/route";
import { POST as dashboardLink } from "@/app/api/widget/dashboard-link/route";
import { GET as enterRoute } from "@/app/dashboard/enter/route";
import { AccountNotVisibleError, authorizeAccount } from "@/lib/features/dashboard/access";
import { entryLink, verifyEntryTicket } from "@/lib/features/dashboard/auth/entry";
import { dashboardSignInReturn, KommoSignInError, readSignedInUser } from "@/lib/features/dashboard/auth/kommo-sign-in";
import { SESSION_LIFETIME_SECONDS, viewerFromRequest } from "@/lib/features/dashboard/auth/sessions";
import { signInRefusal } from "@/lib/features/dashboard/auth/sign-in-policy";
import { viewerFromClaims, type Viewer } from "@/lib/features/dashboard/auth/viewer";
import { db } from "@/lib/db/client";
import { getEnv, resetEnvForTests } from "@/lib/platform/env";
import { addKommoUser, type KommoSimulator } from "../simulators/kommo";
import { widgetToken } from "../helpers/widget-token";
import { adminOf, cookieFor, insertLogRows, setCookies, signInThroughKommo } from "./dashboard-fixtures";
import { closeConnections, installAccount, newKommoAccountId, startKommo, type InstalledAccount } from "./kommo-fixtures";

const OPERATOR_EMAIL = "ops@sync-operator.example";
/** The operators' own Kommo account, without the integration installed. */
const OPERATOR_ACCOUNT = newKommoAccountId();
let operatorUserId: number;
let kommo: KommoSimulator;
let a: InstalledAccount;
let b: InstalledAccount;

beforeAll(async () => {
  kommo = await startKommo();
  const operators = kommo.addAccount({ id: OPERATOR_ACCOUNT, subdomain: `syncops${OPERATOR_ACCOUNT}`, name: "Sync Ops" });
  operatorUserId = operators.users[0]!.id;
  operators.users[0]!.email = OPERATOR_EMAIL;
  process.env.OPERATOR_KOMMO_USERS = ` 1:2, ${OPERATOR_ACCOUNT}:${operatorUserId} `;
  resetEnvForTests();
  a = await installAccount(kommo);
  b = await installAccount(kommo);
  await insertLogRows(a.accountId, [{ leadId: 11, status: "ok", createdAt: new Date() }]);
  await insertLogRows(b.accountId, [{ leadId: 22, status: "failed", createdAt: new Date(), error: "secret of B" }]);
});

beforeEach(() => resetEnvForTests());

afterAll(async () => {
  delete process.env.OPERATOR_KOMMO_USERS;
  resetEnvForTests();
  await closeConnections(kommo);
});

const params = <P>(value: P) => ({ params: Promise.resolve(value) });
const APP = () => getEnv().APP_URL;
const HOUR = 60 * 60 * 1000;

async function get(route: typeof listAccounts, url: string, cookie?: string | null) {
  const response = await route(new Request(url, { headers: cookie ? { cookie } : {} }), params({} as never));
  return { status: response.status, body: await response.json() };
}

const listed = async (cookie: string | null) => (await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", cookie)).body.accounts?.map((account: { id: string }) => account.id);

async function getLog(accountId: string, cookie?: string | null, query = "") {
  const response = await syncLogRoute(new Request(`http://127.0.0.1/api/dashboard/accounts/${accountId}/sync-log${query}`, { headers: cookie ? { cookie } : {} }), params({ accountId }));
  return { status: response.status, body: await response.json() };
}

const viewerOf = (cookie: string, now?: Date) => viewerFromRequest(new Request("http://127.0.0.1/", { headers: { cookie } }), getEnv(), now);
const tokenOf = (cookie: string) => cookie.slice(cookie.indexOf("=") + 1);
const sessionRow = (cookie: string) => db().dashboardSession.findUniqueOrThrow({ where: { tokenHash: createHash("sha256").update(tokenOf(cookie)).digest("base64url") } });

describe("the dashboard API", () => {
  it("answers 401 without a session, and with a forged, expired or stolen-from-the-database one", async () => {
    expect(await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts")).toMatchObject({ status: 401, body: { error: { code: "not_signed_in" } } });
    const forged = `kss-session=${randomBytes(32).toString("base64url")}`;
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", forged)).status).toBe(401);
    const expired = await cookieFor(adminOf(a.kommoAccountId), {}, new Date(Date.now() - SESSION_LIFETIME_SECONDS * 1000 - 1000));
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", expired)).status).toBe(401);
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", `kss-session=${"x".repeat(5000)}`)).status).toBe(401);
    // The table keeps a hash of each token: what a copy of it holds opens nothing.
    const valid = await cookieFor(adminOf(a.kommoAccountId));
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", valid)).status).toBe(200);
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", `kss-session=${(await sessionRow(valid)).tokenHash}`)).status).toBe(401);
  });

  it("shows an admin of account A account A only, and answers 404 for B's log as for an account that does not exist", async () => {
    const cookie = await cookieFor(adminOf(a.kommoAccountId));
    const accounts = await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", cookie);
    expect(accounts.status).toBe(200);
    expect(accounts.body.accounts.map((account: { id: string }) => account.id)).toEqual([a.accountId]);
    expect(JSON.stringify(accounts.body)).not.toMatch(/hookKey|TokenEnc|klaviyoApiKeyEnc/);

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
    expect(await listed(cookie)).toEqual([]);
    expect((await getLog(a.accountId, cookie)).status).toBe(404);
  });

  it("shows an operator every account: a listed Kommo identity, from a Kommo sign-in, whatever its e-mail", async () => {
    const operator = await cookieFor({ kommoAccountId: OPERATOR_ACCOUNT, kommoUserId: operatorUserId, isAdmin: false, email: null, via: "kommo" });
    expect(await listed(operator)).toEqual(expect.arrayContaining([a.accountId, b.accountId]));
    expect((await getLog(b.accountId, operator)).status).toBe(200);
    const viaWidget = await cookieFor({ kommoAccountId: OPERATOR_ACCOUNT, kommoUserId: operatorUserId, isAdmin: true, email: OPERATOR_EMAIL, via: "widget" });
    expect((await getLog(b.accountId, viaWidget)).status).toBe(404);
    // The operator's e-mail, or the operator's user id in another account, is nobody's key.
    for (const claims of [
      adminOf(a.kommoAccountId, { email: OPERATOR_EMAIL }),
      adminOf(a.kommoAccountId, { kommoUserId: operatorUserId, email: OPERATOR_EMAIL }),
      { kommoAccountId: OPERATOR_ACCOUNT, kommoUserId: operatorUserId + 1, isAdmin: true, email: OPERATOR_EMAIL, via: "kommo" as const },
    ]) {
      const lookAlike = await cookieFor(claims);
      expect((await getLog(b.accountId, lookAlike)).status).toBe(404);
      expect((await viewerOf(lookAlike))?.operator).toBe(false);
    }
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
  const user = (overrides: object = {}) => ({ kommoAccountId: a.kommoAccountId, kommoUserId: 5, isAdmin: true, ...overrides });

  it("lets in admins of installed accounts and operators; turns away everyone else with the reason", async () => {
    const env = getEnv();
    expect(await signInRefusal(user(), env)).toBeNull();
    expect(await signInRefusal(user({ isAdmin: false }), env)).toBe("not_admin");
    expect(await signInRefusal(user({ kommoAccountId: 1_234_567 }), env)).toBe("not_installed");
    expect(await signInRefusal(user({ kommoAccountId: OPERATOR_ACCOUNT, kommoUserId: operatorUserId, isAdmin: false }), env)).toBeNull();
    expect(await signInRefusal(user({ kommoAccountId: OPERATOR_ACCOUNT, kommoUserId: operatorUserId + 1, isAdmin: true }), env)).toBe("not_installed");
    await db().account.update({ where: { id: b.accountId }, data: { status: "disconnected" } });
    try {
      expect(await signInRefusal(user({ kommoAccountId: b.kommoAccountId }), env)).toBe("not_installed");
    } finally {
      await db().account.update({ where: { id: b.accountId }, data: { status: "installed" } });
    }
  });

  it("exchanges the code on the account's own host and reads who signed in and whether they are an admin", async () => {
    const manager = addKommoUser(kommo.store, a.kommoAccountId, { name: "Sam Sales", email: "Sam@A.example", isAdmin: false });
    const referer = `${a.subdomain}.kommo.com`;
    expect(await readSignedInUser({ code: kommo.issueCode(a.kommoAccountId, manager.id), referer })).toEqual({
      kommoAccountId: a.kommoAccountId,
      kommoUserId: manager.id,
      userName: "Sam Sales",
      userEmail: "sam@a.example",
      isAdmin: false,
    });
    const admin = await readSignedInUser({ code: kommo.issueCode(a.kommoAccountId), referer });
    expect(admin).toMatchObject({ kommoUserId: kommo.account(a.kommoAccountId).users[0]!.id, isAdmin: true });
  });

  it("never sends the client secret to a host that is not a Kommo account", async () => {
    const before = kommo.count("POST /oauth2/access_token");
    for (const referer of ["evil.example", "www.kommo.com", "acme.kommo.com.evil.example", "acme.kommo.com:8443", "acme.kommo.com/x", "https://acme.kommo.com"]) {
      await expect(readSignedInUser({ code: "abc", referer })).rejects.toBeInstanceOf(KommoSignInError);
    }
    await expect(readSignedInUser({ code: "abc", referer: null })).rejects.toBeInstanceOf(KommoSignInError);
    await expect(readSignedInUser({ code: null, referer: `${a.subdomain}.kommo.com` })).rejects.toBeInstanceOf(KommoSignInError);
    expect(kommo.count("POST /oauth2/access_token")).toBe(before);
  });

  it("signs an admin in through Kommo's consent and the Redirect URI it shares with installs, back to the page they came from", async () => {
    const returnTo = `/dashboard/accounts/${a.accountId}/log`;
    const { started, consent, returned, location, cookie } = await signInThroughKommo(kommo, a.kommoAccountId, { returnTo });
    expect(started.status).toBe(303);
    expect(`${consent.origin}${consent.pathname}`).toBe(`${kommo.url}/oauth`);
    expect(Object.fromEntries(consent.searchParams)).toEqual({ client_id: getEnv().KOMMO_CLIENT_ID, state: expect.stringMatching(/^dashboard\./), mode: "post_message" });
    const stateCookie = started.headers.getSetCookie().find((line) => line.startsWith("kss-sign-in="))!;
    expect(stateCookie).toMatch(/HttpOnly/i);
    expect(stateCookie).toMatch(/SameSite=lax/i);
    expect(stateCookie).toMatch(/Max-Age=900/);

    expect(returned.status).toBe(303);
    expect(location).toBe(`${APP()}${returnTo}`);
    const sessionCookie = returned.headers.getSetCookie().find((line) => line.startsWith("kss-session="))!;
    expect(sessionCookie).toMatch(/HttpOnly/i);
    expect(sessionCookie).toMatch(/SameSite=lax/i);
    expect(sessionCookie).toMatch(new RegExp(`Max-Age=${SESSION_LIFETIME_SECONDS}`));
    expect(setCookies(returned).get("kss-sign-in")).toBe("");
    expect(await viewerOf(cookie!)).toEqual({
      kommoAccountId: a.kommoAccountId,
      kommoUserId: kommo.account(a.kommoAccountId).users[0]!.id,
      name: "Admin",
      email: `admin@${a.subdomain}.example`,
      isAdmin: true,
      operator: false,
      via: "kommo",
    });
    expect(await listed(cookie)).toEqual([a.accountId]);

    // Where to return is a dashboard page, or the dashboard.
    for (const elsewhere of ["https://evil.example/", "//evil.example", "/dashboard/../api/metrics", "/dashboard/sign-in"]) {
      expect((await signInThroughKommo(kommo, a.kommoAccountId, { returnTo: elsewhere })).location).toBe(`${APP()}/dashboard`);
    }
  });

  it("accepts Kommo's answer only in the browser that started the sign-in (no login CSRF), and leaves install answers to the install flow", async () => {
    const tokenCalls = () => kommo.count("POST /oauth2/access_token");
    const before = tokenCalls();
    const otherKey = new Uint8Array(randomBytes(32));
    const forgedCookie = await new SignJWT({ state: "dashboard.attacker", return_to: "/dashboard" })
      .setProtectedHeader({ alg: "HS256" })
      .setAudience("klaviyo-sync/dashboard-sign-in")
      .setExpirationTime("10m")
      .sign(otherKey);
    const attempts = [
      // An attacker's own answer (their code, their state) delivered to a victim's browser, which has no sign-in going.
      { cookie: () => "" },
      // ... or one going with another state.
      { answer: (query: URLSearchParams) => query.set("state", "dashboard.attacker") },
      // ... or a state cookie of their own making.
      { answer: (query: URLSearchParams) => query.set("state", "dashboard.attacker"), cookie: () => `kss-sign-in=${forgedCookie}` },
    ];
    for (const attempt of attempts) {
      const { returned, cookie } = await signInThroughKommo(kommo, a.kommoAccountId, attempt);
      expect(returned.status).toBe(303);
      expect(returned.headers.get("location")).toBe(`${APP()}/dashboard/sign-in?error=sign_in_expired`);
      expect(cookie).toBeNull();
    }
    expect(tokenCalls()).toBe(before);

    const declined = await signInThroughKommo(kommo, a.kommoAccountId, { answer: (query) => (query.delete("code"), query.set("error", "access_denied")) });
    expect(declined.location).toBe(`${APP()}/dashboard/sign-in?error=access_denied`);
    expect(declined.cookie).toBeNull();

    // Install answers: no dashboard state, or Kommo's widget install call.
    const answer = (query: string) => dashboardSignInReturn(new Request(`${APP()}/api/kommo/oauth/callback?${query}`));
    expect(await answer(`code=c1&state=${randomBytes(24).toString("base64url")}&referer=x.kommo.com&client_id=x`)).toBeNull();
    expect(await answer("code=c1&referer=x.kommo.com&from_widget=1")).toBeNull();
    expect(await answer("code=c1&referer=x.kommo.com&from_widget=1&state=dashboard.x")).toBeNull();
  });

  it("refuses a Kommo user who is not an admin, and a look-alike of an operator in another account gets no operator rights", async () => {
    const manager = addKommoUser(kommo.store, a.kommoAccountId, { name: "Sam Sales", email: "sam2@a.example", isAdmin: false });
    const refused = await signInThroughKommo(kommo, a.kommoAccountId, { userId: manager.id });
    expect(refused.location).toBe(`${APP()}/dashboard/sign-in?error=not_admin`);
    expect(refused.cookie).toBeNull();

    // An admin of account B names a user of theirs after the operator: same name, same e-mail.
    const lookAlike = addKommoUser(kommo.store, b.kommoAccountId, { name: "Sync Ops", email: OPERATOR_EMAIL, isAdmin: true });
    const impostor = await signInThroughKommo(kommo, b.kommoAccountId, { userId: lookAlike.id });
    expect(impostor.cookie).not.toBeNull();
    expect(await viewerOf(impostor.cookie!)).toMatchObject({ email: OPERATOR_EMAIL, operator: false, isAdmin: true });
    expect(await listed(impostor.cookie)).toEqual([b.accountId]);
    expect((await getLog(a.accountId, impostor.cookie)).status).toBe(404);
    // As a non-admin there, with the operator's e-mail, they are not let in at all.
    const lookAlikeMember = addKommoUser(kommo.store, b.kommoAccountId, { name: "Sync Ops", email: OPERATOR_EMAIL.toUpperCase(), isAdmin: false });
    expect((await signInThroughKommo(kommo, b.kommoAccountId, { userId: lookAlikeMember.id })).location).toBe(`${APP()}/dashboard/sign-in?error=not_admin`);

    // The real operator, from an account without the integration, sees every account.
    const operator = await signInThroughKommo(kommo, OPERATOR_ACCOUNT, { userId: operatorUserId });
    expect(await viewerOf(operator.cookie!)).toMatchObject({ operator: true });
    expect(await listed(operator.cookie)).toEqual(expect.arrayContaining([a.accountId, b.accountId]));
  });

  it("starts only from this app's own pages", async () => {
    const form = new FormData();
    form.set("callbackUrl", "/dashboard");
    const response = await signInRoute(new Request(`${APP()}/api/auth/sign-in`, { method: "POST", body: form, headers: { Origin: "https://evil.example" } }));
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});

describe("sessions", () => {
  it("end 8 hours after the sign-in, however often they are used and their admin right re-read", async () => {
    const before = Date.now();
    const { cookie } = await signInThroughKommo(kommo, a.kommoAccountId);
    const after = Date.now();
    const at = (ms: number) => new Date(before + ms);
    const { expiresAt } = await sessionRow(cookie!);
    expect(expiresAt.getTime() - SESSION_LIFETIME_SECONDS * 1000).toBeGreaterThanOrEqual(before);
    expect(expiresAt.getTime() - SESSION_LIFETIME_SECONDS * 1000).toBeLessThanOrEqual(after);
    const reads = kommo.count("GET /api/v4/users");
    for (const hours of [1.1, 2.5, 4, 6, 7.9]) expect(await viewerOf(cookie!, at(hours * HOUR))).toMatchObject({ isAdmin: true });
    // Each use past the hour read the admin right again; none moved the end.
    expect(kommo.count("GET /api/v4/users") - reads).toBe(5);
    expect((await sessionRow(cookie!)).expiresAt).toEqual(expiresAt);
    expect(await viewerOf(cookie!, new Date(expiresAt.getTime() + 1000))).toBeNull();
    // Signing out ends it too, on the server: the same cookie opens nothing afterwards.
    const other = (await signInThroughKommo(kommo, a.kommoAccountId)).cookie!;
    const signOut = (origin: string) => signOutRoute(new Request(`${APP()}/api/auth/sign-out`, { method: "POST", headers: { cookie: other, Origin: origin } }));
    expect((await signOut("https://evil.example")).status).toBe(403);
    expect(await listed(other)).toEqual([a.accountId]);
    const out = await signOut(APP());
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe(`${APP()}/dashboard/sign-in`);
    expect(setCookies(out).get("kss-session")).toBe("");
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", other)).status).toBe(401);
  });

  it("sign out, within the hour, an admin whose right was withdrawn in Kommo", async () => {
    const admin = addKommoUser(kommo.store, a.kommoAccountId, { name: "Ada Admin", email: "ada@a.example", isAdmin: true });
    const { cookie } = await signInThroughKommo(kommo, a.kommoAccountId, { userId: admin.id });
    expect(await listed(cookie)).toEqual([a.accountId]);
    admin.is_admin = false;
    const reads = kommo.count("GET /api/v4/users");
    // Within the hour the right Kommo stated at sign-in holds, without asking Kommo on each request.
    expect(await viewerOf(cookie!, new Date(Date.now() + 50 * 60_000))).toMatchObject({ isAdmin: true });
    expect(kommo.count("GET /api/v4/users")).toBe(reads);
    // An hour on (the session's last check moved back), the next request asks Kommo and ends it.
    await db().dashboardSession.update({ where: { tokenHash: (await sessionRow(cookie!)).tokenHash }, data: { rightsCheckedAt: new Date(Date.now() - HOUR - 1000) } });
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", cookie)).status).toBe(401);
    expect((await getLog(a.accountId, cookie)).status).toBe(401);
    expect(kommo.count("GET /api/v4/users")).toBe(reads + 1);
    expect((await sessionRow(cookie!)).endedAt).not.toBeNull();
    // Made an admin again, they sign in again: the ended session stays ended.
    admin.is_admin = true;
    expect((await get(listAccounts, "http://127.0.0.1/api/dashboard/accounts", cookie)).status).toBe(401);
  });

  it("refuse an admin whose right Kommo cannot confirm after the hour, without ending the session", async () => {
    const { cookie } = await signInThroughKommo(kommo, a.kommoAccountId);
    const later = new Date(Date.now() + HOUR + 60_000);
    await db().account.update({ where: { id: a.accountId }, data: { status: "needs_reauth" } });
    try {
      expect(await viewerOf(cookie!, later)).toBeNull();
      expect((await sessionRow(cookie!)).endedAt).toBeNull();
    } finally {
      await db().account.update({ where: { id: a.accountId }, data: { status: "installed" } });
    }
    expect(await viewerOf(cookie!, later)).toMatchObject({ isAdmin: true });
  });
});

describe("the widget's door into the dashboard", () => {
  const origin = () => `https://${a.subdomain}.kommo.com`;
  const askForLink = async (token: string) => {
    const response = await dashboardLink(new Request("http://127.0.0.1/api/widget/dashboard-link", { method: "POST", headers: { "X-Auth-Token": token, Origin: origin() } }), params({}));
    return { status: response.status, body: await response.json() };
  };

  it("gives an admin a one-minute link that becomes a session for their account, once", async () => {
    const adminId = kommo.account(a.kommoAccountId).users[0]!.id;
    const link = await askForLink(await widgetToken({ accountId: a.kommoAccountId, userId: adminId, subdomain: a.subdomain, isAdmin: true }));
    expect(link.status).toBe(200);
    expect(link.body.url).toMatch(new RegExp(`^${APP()}/dashboard/enter\\?ticket=`));
    expect(Date.parse(link.body.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);

    const entered = await enterRoute(new Request(link.body.url));
    expect(entered.status).toBe(303);
    expect(entered.headers.get("location")).toBe(`${APP()}/dashboard/accounts/${a.accountId}`);
    const setCookie = entered.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^kss-session=/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=lax/i);
    const cookie = setCookie.split(";")[0]!;
    expect(await viewerOf(cookie)).toMatchObject({ kommoAccountId: a.kommoAccountId, kommoUserId: adminId, isAdmin: true, operator: false, via: "widget" });

    // The same link again (browser history, a log, a proxy, someone handed it): nothing, within its minute too.
    for (let replay = 0; replay < 3; replay++) {
      const again = await enterRoute(new Request(link.body.url));
      expect(again.status).toBe(303);
      expect(again.headers.get("location")).toBe(`${APP()}/dashboard/sign-in?error=link_used`);
      expect(again.headers.get("set-cookie")).toBeNull();
    }
    // ... also after the session it opened was signed out.
    await signOutRoute(new Request(`${APP()}/api/auth/sign-out`, { method: "POST", headers: { cookie } }));
    expect((await enterRoute(new Request(link.body.url))).headers.get("location")).toBe(`${APP()}/dashboard/sign-in?error=link_used`);
  });

  it("opens one session for a ticket used twice at the same moment", async () => {
    const link = await entryLink({ kommoAccountId: a.kommoAccountId, kommoUserId: 77, rightsCheckedAt: new Date() });
    const answers = await Promise.all([1, 2, 3].map(() => enterRoute(new Request(link.url))));
    const locations = answers.map((answer) => answer.headers.get("location")).sort();
    expect(locations).toEqual([`${APP()}/dashboard/accounts/${a.accountId}`, `${APP()}/dashboard/sign-in?error=link_used`, `${APP()}/dashboard/sign-in?error=link_used`]);
    expect(answers.filter((answer) => answer.headers.get("set-cookie") !== null)).toHaveLength(1);
  });

  it("counts the admin right from when Kommo's widget token vouched for it", async () => {
    const adminId = kommo.account(a.kommoAccountId).users[0]!.id;
    const link = await entryLink({ kommoAccountId: a.kommoAccountId, kommoUserId: adminId, rightsCheckedAt: new Date(Date.now() - 2 * HOUR) });
    const cookie = (await enterRoute(new Request(link.url))).headers.get("set-cookie")!.split(";")[0]!;
    const reads = kommo.count("GET /api/v4/users");
    expect(await listed(cookie)).toEqual([a.accountId]);
    expect(kommo.count("GET /api/v4/users")).toBe(reads + 1);
  });

  it("refuses users who are not admins, and links that are forged or expired", async () => {
    const manager = await askForLink(await widgetToken({ accountId: a.kommoAccountId, userId: 4242, subdomain: a.subdomain, isAdmin: false }));
    expect(manager).toMatchObject({ status: 403, body: { error: { code: "admin_only" } } });

    const stale = await entryLink({ kommoAccountId: a.kommoAccountId, kommoUserId: 1, rightsCheckedAt: new Date() }, getEnv(), new Date(Date.now() - 5 * 60_000));
    expect(await verifyEntryTicket(new URL(stale.url).searchParams.get("ticket"))).toEqual({ ok: false, reason: "expired" });
    for (const url of [stale.url, `${APP()}/dashboard/enter?ticket=forged`, `${APP()}/dashboard/enter`]) {
      const response = await enterRoute(new Request(url));
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toBe(`${APP()}/dashboard/sign-in?error=session_expired`);
      expect(response.headers.get("set-cookie")).toBeNull();
    }
  });
});
