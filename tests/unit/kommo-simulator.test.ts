// The simulated Kommo refuses what Kommo refuses; otherwise a lenient simulator would hide client bugs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KommoSimulator } from "../simulators/kommo";

const config = { clientId: "0b0123f4-5678-4abc-9def-0123456789ab", clientSecret: "sim-secret-0123456789", redirectUri: "https://sync.example.com/api/kommo/oauth/callback" };
let kommo: KommoSimulator;
const ACCOUNT = 4242;

beforeAll(async () => {
  kommo = await KommoSimulator.start(config);
  kommo.addAccount({ id: ACCOUNT, subdomain: "sim" });
});

afterAll(async () => {
  await kommo.close();
});

const tokenCall = (body: Record<string, unknown>, contentType = "application/json") =>
  fetch(`${kommo.url}/oauth2/access_token`, {
    method: "POST",
    headers: { "Content-Type": contentType },
    body: contentType === "application/json" ? JSON.stringify(body) : new URLSearchParams(body as Record<string, string>).toString(),
  });

const grant = (extra: Record<string, unknown>) => ({ client_id: config.clientId, client_secret: config.clientSecret, redirect_uri: config.redirectUri, ...extra });

const api = (path: string, token: string | undefined, init: RequestInit = {}) =>
  fetch(`${kommo.url}${path}`, { ...init, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...init.headers } });

describe("simulated token endpoint", () => {
  it("issues a 24 h pair for a fresh code, once", async () => {
    const code = kommo.issueCode(ACCOUNT);
    const first = await tokenCall(grant({ grant_type: "authorization_code", code }));
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ token_type: "Bearer", expires_in: 86_400, access_token: expect.any(String), refresh_token: expect.any(String) });
    const again = await tokenCall(grant({ grant_type: "authorization_code", code }));
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ hint: "Authorization code has been revoked", type: "https://developers.amocrm.ru/v3/errors/OAuthProblemJson" });
  });

  it("accepts the form encoding too", async () => {
    const response = await tokenCall(grant({ grant_type: "authorization_code", code: kommo.issueCode(ACCOUNT) }), "application/x-www-form-urlencoded");
    expect(response.status).toBe(200);
  });

  it("refuses wrong client credentials, a different redirect_uri, unknown grants and expired codes", async () => {
    const bad = [
      [grant({ grant_type: "authorization_code", code: kommo.issueCode(ACCOUNT), client_secret: "wrong" }), 401, "Client authentication failed"],
      [grant({ grant_type: "authorization_code", code: kommo.issueCode(ACCOUNT), client_id: "someone-else" }), 401, "Client authentication failed"],
      [grant({ grant_type: "authorization_code", code: kommo.issueCode(ACCOUNT), redirect_uri: "https://other.example.com/cb" }), 400, "Redirect URI mismatch"],
      [grant({ grant_type: "password", code: kommo.issueCode(ACCOUNT) }), 400, "Unsupported grant type"],
      [grant({ grant_type: "authorization_code" }), 400, "Check the `code` parameter"],
    ] as const;
    for (const [body, status, hint] of bad) {
      const response = await tokenCall(body);
      expect(response.status).toBe(status);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect((await response.json()).hint).toContain(hint);
    }
    const code = kommo.issueCode(ACCOUNT);
    kommo.advanceTime(20 * 60_000 + 1);
    try {
      const late = await tokenCall(grant({ grant_type: "authorization_code", code }));
      expect(late.status).toBe(400);
      expect((await late.json()).hint).toBe("Authorization code has expired");
    } finally {
      kommo.advanceTime(-(20 * 60_000 + 1));
    }
  });

  it("rotates refresh tokens: the old one is revoked once used", async () => {
    const pair = kommo.issueTokens(ACCOUNT);
    const refreshed = await tokenCall(grant({ grant_type: "refresh_token", refresh_token: pair.refresh_token }));
    expect(refreshed.status).toBe(200);
    const next = await refreshed.json();
    expect(next.refresh_token).not.toBe(pair.refresh_token);
    const reused = await tokenCall(grant({ grant_type: "refresh_token", refresh_token: pair.refresh_token }));
    expect(reused.status).toBe(401);
    expect(await reused.json()).toMatchObject({ hint: "Token has been revoked", status: 401 });
  });
});

describe("simulated API", () => {
  it("requires a valid, unexpired Bearer token", async () => {
    expect((await api("/api/v4/account", undefined)).status).toBe(401);
    expect((await api("/api/v4/account", "made-up")).status).toBe(401);
    const { access_token } = kommo.issueTokens(ACCOUNT);
    expect((await api("/api/v4/account", access_token)).status).toBe(200);
    kommo.advanceTime(24 * 3600_000);
    try {
      const expired = await api("/api/v4/account", access_token);
      expect(expired.status).toBe(401);
      expect(expired.headers.get("content-type")).toBe("application/problem+json");
    } finally {
      kommo.advanceTime(-24 * 3600_000);
    }
  });

  it("pages with limit <= 250, answers 204 when empty and 422 above the limit", async () => {
    const { access_token } = kommo.issueTokens(ACCOUNT);
    expect((await api("/api/v4/leads", access_token)).status).toBe(204);
    const pipeline = kommo.seedPipeline(ACCOUNT, { name: "P", stages: ["S"] });
    for (let n = 0; n < 3; n++) kommo.seedLead(ACCOUNT, { name: `L${n}`, pipelineId: pipeline.id, statusId: 142 });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // stay clear of the 7/s limit
    const page = await api("/api/v4/leads?limit=2", access_token);
    expect(page.headers.get("content-type")).toBe("application/hal+json");
    const body = await page.json();
    expect(body._page).toBe(1);
    expect(body._embedded.leads).toHaveLength(2);
    expect(body._links.next.href).toContain("page=2");
    const last = await (await fetch(body._links.next.href, { headers: { Authorization: `Bearer ${access_token}` } })).json();
    expect(last._embedded.leads).toHaveLength(1);
    expect(last._links.next).toBeUndefined();
    const tooMany = await api("/api/v4/leads?limit=251", access_token);
    expect(tooMany.status).toBe(422);
    expect((await tooMany.json()).detail).toBe("Limit 250 per page");
  });

  it("answers the 8th request within a second with 429 and retry_after", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { access_token } = kommo.issueTokens(ACCOUNT);
    const statuses = await Promise.all(Array.from({ length: 8 }, () => api("/api/v4/account", access_token).then((response) => response.status)));
    expect(statuses.filter((status) => status === 200)).toHaveLength(7);
    const limited = await api("/api/v4/account", access_token);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ status: 429, retry_after: 1 });
  });

  it("validates notes and webhook registrations", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { access_token } = kommo.issueTokens(ACCOUNT);
    const post = (path: string, body: unknown) => api(path, access_token, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    expect((await post("/api/v4/leads/notes", [{ entity_id: 1, note_type: "common", params: { text: "x" } }])).status).toBe(400);
    expect((await post("/api/v4/leads/notes", [])).status).toBe(400);
    expect((await post("/api/v4/webhooks", { destination: "not a url", settings: ["add_lead"] })).status).toBe(400);
    expect((await post("/api/v4/webhooks", { destination: "https://sync.example.com/h", settings: ["made_up"] })).status).toBe(400);
    const created = await post("/api/v4/webhooks", { destination: "https://sync.example.com/h", settings: ["add_lead"] });
    expect(created.status).toBe(200);
    expect(await created.json()).toMatchObject({ id: expect.any(Number), destination: "https://sync.example.com/h", settings: ["add_lead"], disabled: false });
  });

  it("creates contact fields, and sets values with Kommo's type checks (nothing changed on a refusal)", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { access_token } = kommo.issueTokens(ACCOUNT);
    const send = (method: string, path: string, body: unknown) => api(path, access_token, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const created = await send("POST", "/api/v4/contacts/custom_fields", [{ name: "Status", type: "select", code: "STATUS_X", is_api_only: true, enums: [{ value: "Yes", sort: 10 }, { value: "No", sort: 20 }] }]);
    expect(created.status).toBe(200);
    const field = ((await created.json()) as { _embedded: { custom_fields: { id: number; enums: { id: number; value: string }[] }[] } })._embedded.custom_fields[0]!;
    expect((await send("POST", "/api/v4/contacts/custom_fields", [{ name: "Again", type: "select", code: "STATUS_X", enums: [{ value: "A" }] }])).status).toBe(400);
    expect((await send("POST", "/api/v4/contacts/custom_fields", [{ name: "No enums", type: "select" }])).status).toBe(400);
    const box = kommo.addContactField(ACCOUNT, { name: "Opt-in", type: "checkbox" });
    const contact = kommo.seedContact(ACCOUNT, { firstName: "Ana", lastName: "Ruiz", emails: ["ana@example.com"] });
    const yes = field.enums.find((entry) => entry.value === "Yes")!.id;
    // A checkbox takes booleans only; an unknown enum or field is refused; the whole batch is then left alone.
    expect((await send("PATCH", "/api/v4/contacts", [{ id: contact.id, custom_fields_values: [{ field_id: field.id, values: [{ enum_id: yes }] }, { field_id: box.id, values: [{ value: "1" }] }] }])).status).toBe(400);
    expect((await send("PATCH", "/api/v4/contacts", [{ id: contact.id, custom_fields_values: [{ field_id: field.id, values: [{ enum_id: 1 }] }] }])).status).toBe(400);
    expect((await send("PATCH", "/api/v4/contacts", [{ id: contact.id, custom_fields_values: [{ field_id: 999, values: [{ value: "x" }] }] }])).status).toBe(400);
    expect(kommo.contactFieldValues(ACCOUNT, contact.id, { code: "STATUS_X" })).toBeNull();
    const ok = await send("PATCH", "/api/v4/contacts", [
      { id: contact.id, custom_fields_values: [{ field_code: "STATUS_X", values: [{ enum_id: yes }] }, { field_id: box.id, values: [{ value: true }] }], tags_to_add: [{ name: "vip" }] },
    ]);
    expect(ok.status).toBe(200);
    expect(kommo.contactFieldValues(ACCOUNT, contact.id, { code: "STATUS_X" })).toEqual(["Yes"]);
    expect(kommo.contactFieldValues(ACCOUNT, contact.id, { id: box.id })).toEqual([true]);
    // Past the simulated 7 requests a second.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const read = (await (await api(`/api/v4/contacts/${contact.id}`, access_token)).json()) as { _embedded: { tags: { name: string }[] } };
    expect(read._embedded.tags.map((tag) => tag.name)).toEqual(["vip"]);
    // The update_contact webhook carries the checkbox as Kommo does, "1".
    expect(decodeURIComponent(kommo.contactWebhookBody(ACCOUNT, contact.id))).toContain("[values][0][value]=1");
  });
});
