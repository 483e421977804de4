// The widget settings API: who may call it (Kommo's one-time token, the account's own origin,
// admins for writes), what it accepts, and that the Klaviyo key is checked, sealed, never returned.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET, OPTIONS, PUT } from "@/app/api/widget/settings/route";
import { db } from "@/lib/db/client";
import { startSimulators, stopSimulators } from "./account-fixtures";
import { installAccount, type InstalledAccount } from "./kommo-fixtures";
import { widgetToken } from "../helpers/widget-token";
import type { KlaviyoSimulator } from "../simulators/klaviyo";
import type { KommoSimulator } from "../simulators/kommo";

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
let installed: InstalledAccount;
let adminId: number;
const GOOD_KEY = "pk_settings_good_0123456789";
const params = { params: Promise.resolve({}) };

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators({ organizationName: "Acme Store" }));
  klaviyo.addKey(GOOD_KEY);
  klaviyo.addKey("pk_settings_noaccounts_0123", { scopes: ["lists:read"] });
  installed = await installAccount(kommo);
  adminId = kommo.account(installed.kommoAccountId).users[0]!.id;
});

afterAll(async () => {
  await stopSimulators({ kommo, klaviyo });
});

const origin = () => `https://${installed.subdomain}.kommo.com`;

async function call(method: "GET" | "PUT", options: { token?: string | null; body?: unknown; origin?: string | null } = {}) {
  const token = options.token === undefined ? await widgetToken({ accountId: installed.kommoAccountId, userId: adminId, subdomain: installed.subdomain }) : options.token;
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers["X-Auth-Token"] = token;
  const requestOrigin = options.origin === undefined ? origin() : options.origin;
  if (requestOrigin) headers.Origin = requestOrigin;
  const request = new Request("http://127.0.0.1/api/widget/settings", {
    method,
    headers,
    body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
  });
  const response = await (method === "GET" ? GET : PUT)(request, params);
  return { status: response.status, body: await response.json(), headers: response.headers };
}

async function storedAccount() {
  return db().account.findUniqueOrThrow({ where: { id: installed.accountId } });
}

describe("widget settings API", () => {
  it("returns the defaults to a fresh account, with CORS for its Kommo page only", async () => {
    const { status, body, headers } = await call("GET");
    expect(status).toBe(200);
    expect(body).toEqual({
      stageLists: [],
      allDealsListId: null,
      removeFromPreviousList: true,
      events: { dealCreated: "Deal Created", stageChanged: "Stage Changed", dealWon: "Deal Won", dealLost: "Deal Lost" },
      activityNotes: true,
      deleteProfileOnContactDelete: false,
      consent: { statusField: false, optInFieldId: null, optInListId: null },
      klaviyo: { connected: false, keyHint: null, accountName: null, activityMode: "polling", activityPollSeconds: 60 },
    });
    expect(headers.get("access-control-allow-origin")).toBe(origin());
  });

  it("answers a preflight from a Kommo page and refuses one from anywhere else", async () => {
    const good = OPTIONS(new Request("http://127.0.0.1/api/widget/settings", { method: "OPTIONS", headers: { Origin: origin() } }));
    expect(good.status).toBe(204);
    expect(good.headers.get("access-control-allow-headers")).toContain("X-Auth-Token");
    const evil = OPTIONS(new Request("http://127.0.0.1/api/widget/settings", { method: "OPTIONS", headers: { Origin: "https://evil.example" } }));
    expect(evil.status).toBe(403);
  });

  it("refuses requests without a valid token, from another origin, or for another integration", async () => {
    const forged = await widgetToken({ accountId: installed.kommoAccountId, userId: adminId, subdomain: installed.subdomain, secret: "not-the-client-secret-000" });
    const expired = await widgetToken({ accountId: installed.kommoAccountId, userId: adminId, subdomain: installed.subdomain, expiresInSeconds: -120 });
    const otherAudience = await widgetToken({ accountId: installed.kommoAccountId, userId: adminId, subdomain: installed.subdomain, audience: "https://other.example" });
    const otherIntegration = await widgetToken({ accountId: installed.kommoAccountId, userId: adminId, subdomain: installed.subdomain, clientId: "11111111-2222-4333-8444-555555555555" });
    const unknownAccount = await widgetToken({ accountId: 12_345, userId: adminId, subdomain: installed.subdomain });
    expect((await call("GET", { token: null })).body.error.code).toBe("missing_token");
    expect(await call("GET", { token: forged })).toMatchObject({ status: 401, body: { error: { code: "invalid_token" } } });
    expect(await call("GET", { token: expired })).toMatchObject({ status: 401, body: { error: { code: "token_expired" } } });
    expect(await call("GET", { token: otherAudience })).toMatchObject({ status: 401, body: { error: { code: "invalid_token" } } });
    expect(await call("GET", { token: otherIntegration })).toMatchObject({ status: 401, body: { error: { code: "invalid_token" } } });
    expect(await call("GET", { token: unknownAccount })).toMatchObject({ status: 403, body: { error: { code: "not_installed" } } });
    const foreign = await call("GET", { origin: "https://someone-else.kommo.com" });
    expect(foreign).toMatchObject({ status: 403, body: { error: { code: "forbidden_origin" } } });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets only admins change settings", async () => {
    const manager = await widgetToken({ accountId: installed.kommoAccountId, userId: adminId + 1, subdomain: installed.subdomain, isAdmin: false });
    const before = await storedAccount();
    const response = await call("PUT", { token: manager, body: { activityNotes: false } });
    expect(response).toMatchObject({ status: 403, body: { error: { code: "admin_only" } } });
    expect((await storedAccount()).settings).toEqual(before.settings);
  });

  it("asks Kommo whether the user is an admin when the token does not say", async () => {
    const response = await call("PUT", { body: { activityNotes: true } });
    expect(response.status).toBe(200);
  });

  it("rejects malformed bodies with the reason, and changes nothing", async () => {
    const before = await storedAccount();
    expect(await call("PUT", { body: "{not json" })).toMatchObject({ status: 400, body: { error: { code: "invalid_json" } } });
    const unknownField = await call("PUT", { body: { surprise: 1 } });
    expect(unknownField).toMatchObject({ status: 400, body: { error: { code: "invalid_settings" } } });
    const twice = await call("PUT", {
      body: { stageLists: [{ pipelineId: 1, statusId: 2, listId: "AbC123" }, { pipelineId: 1, statusId: 2, listId: "XyZ789" }] },
    });
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toMatch(/mapped twice/);
    expect((await call("PUT", { body: { klaviyoApiKey: "6charX" } })).body.error.message).toMatch(/starts with pk_/);
    const after = await storedAccount();
    expect(after.settings).toEqual(before.settings);
    expect(await db().stageListMapping.count({ where: { accountId: installed.accountId } })).toBe(0);
  });

  it("refuses a key Klaviyo rejects (422 with why) and keeps nothing of it", async () => {
    const unknown = await call("PUT", { body: { klaviyoApiKey: "pk_settings_unknown_0123456789" } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.message).toMatch(/not a valid private API key/);
    expect(unknown.body.error.message).not.toContain("pk_settings_unknown_0123456789");
    const limited = await call("PUT", { body: { klaviyoApiKey: "pk_settings_noaccounts_0123" } });
    expect(limited.status).toBe(422);
    expect(limited.body.error.message).toMatch(/accounts:read/);
    expect((await storedAccount()).klaviyoApiKeyEnc).toBeNull();
  });

  it("stores a good key sealed, shows only its hint, and keeps omitted fields", async () => {
    await call("PUT", { body: { stageLists: [{ pipelineId: 7001, statusId: 142, listId: "LsWon1" }], events: { dealLost: null } } });
    const saved = await call("PUT", { body: { klaviyoApiKey: GOOD_KEY, allDealsListId: "LsAll1" } });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({
      stageLists: [{ pipelineId: 7001, statusId: 142, listId: "LsWon1" }],
      allDealsListId: "LsAll1",
      events: { dealCreated: "Deal Created", dealLost: null },
      klaviyo: { connected: true, keyHint: "pk_…6789", accountName: "Acme Store" },
    });
    const account = await storedAccount();
    expect(account.klaviyoApiKeyEnc).toMatch(/^v1\./);
    expect(account.klaviyoApiKeyEnc).not.toContain(GOOD_KEY);
    const read = await call("GET");
    expect(JSON.stringify(read.body)).not.toContain(GOOD_KEY);
    expect(read.body).toEqual(saved.body);
  });
});
