// The Digital Pipeline action against the built app as operators run it (`next start` and a worker
// process, on a database of their own) and both simulators: the admin's `dpSettings` reads the hook
// URL and token through the widget route, then Kommo posts hooks in both encodings. Exactly one
// Klaviyo event per real hook; nothing for a redelivery, a forged token, another account's token, an
// unknown account or a type that does not act.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, seedDeal, widgetHeaders, type HarnessContext, type Tenant } from "@/bench/harness/accounts";
import { appUrl, killAll, newAppIdentity, startWeb, startWorker, type AppConfig } from "@/bench/harness/app";
import { createRunDatabase, migrate, type RunDatabase } from "@/bench/harness/database";
import { Observer } from "@/bench/harness/observer";
import { startSimulators, type Simulators } from "@/bench/harness/simulators";
import { freePort } from "@/tests/helpers/processes";

const EVENT_NAME = "CRM Demo Booked";

let database: RunDatabase;
let sims: Simulators;
let context: HarnessContext;
let logDir: string;
let tenant: Tenant;
let other: Tenant;

beforeAll(async () => {
  database = await createRunDatabase("kss_e2e_dp");
  await migrate(database.url);
  const identity = newAppIdentity();
  const port = await freePort();
  sims = await startSimulators({ identity, appUrl: appUrl({ port }), latencyMs: 0 });
  logDir = mkdtempSync(path.join(tmpdir(), "kss-e2e-dp-"));
  const config: AppConfig = { identity, databaseUrl: database.url, port, kommoUrl: sims.kommo.url, klaviyoUrl: sims.klaviyo.url, logDir };
  await startWeb(config);
  await startWorker(config, "worker");
  context = { sims, identity, appUrl: appUrl(config), observer: new Observer(database.url) };
  tenant = await createTenant(context, 1);
  other = await createTenant(context, 2);
});

afterAll(async () => {
  await killAll();
  await context?.observer.close();
  await sims?.close();
  await database?.drop();
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

async function actionSettings(of: Tenant): Promise<{ webhookUrl: string; token: string }> {
  const answer = await fetch(`${context.appUrl}/api/widget/digital-pipeline`, { headers: await widgetHeaders(context, of) });
  expect(answer.status).toBe(200);
  return (await answer.json()) as { webhookUrl: string; token: string };
}

async function post(url: string, hook: { body: string; contentType: string }): Promise<number> {
  const answer = await fetch(url, { method: "POST", headers: { "Content-Type": hook.contentType, "User-Agent": "amoCRM-Webhooks/3.0" }, body: hook.body });
  await answer.arrayBuffer();
  return answer.status;
}

const eventsOf = (email: string) => tenant.klaviyo.store.eventsNamed(EVENT_NAME, email);

async function until(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("Digital Pipeline action against the built app", () => {
  it("sends one event per hook in either encoding, and nothing for redeliveries, forged tokens, other accounts or other types", async () => {
    const { webhookUrl, token } = await actionSettings(tenant);
    expect(webhookUrl).toBe(`${context.appUrl}/api/kommo/dp`);
    const otherToken = (await actionSettings(other)).token;
    const viaJson = seedDeal({ sims }, tenant, 1);
    const viaForm = seedDeal({ sims }, tenant, 2);
    const untouched = seedDeal({ sims }, tenant, 3);
    const settings = { event_name: EVENT_NAME, kss_token: token, list_id: tenant.klaviyo.lists.won };
    const hook = (leadId: number, encoding: "json" | "form", overrides: { settings?: Record<string, string>; type?: number } = {}) =>
      sims.kommo.digitalPipelineHookBody(tenant.kommoAccountId, leadId, { encoding, settings: overrides.settings ?? settings, type: overrides.type });

    // Two real hooks, one per encoding, each delivered twice (Kommo retries what it thinks failed).
    for (const [deal, encoding] of [[viaJson, "json"], [viaForm, "form"]] as const) {
      expect(await post(webhookUrl, hook(deal.leadId, encoding))).toBe(200);
      expect(await post(webhookUrl, hook(deal.leadId, encoding))).toBe(200);
    }
    // Turned away: a forged token, another account's token, an unknown account; acknowledged and ignored: a type that does not act.
    expect(await post(webhookUrl, hook(untouched.leadId, "json", { settings: { ...settings, kss_token: "forged-token-0123456789" } }))).toBe(401);
    expect(await post(webhookUrl, hook(untouched.leadId, "form", { settings: { ...settings, kss_token: otherToken } }))).toBe(401);
    const unknownAccount = hook(untouched.leadId, "json");
    expect(await post(webhookUrl, { ...unknownAccount, body: unknownAccount.body.replaceAll(String(tenant.kommoAccountId), "424242") })).toBe(404);
    expect(await post(webhookUrl, hook(untouched.leadId, "json", { type: 20 }))).toBe(200);

    await until(() => eventsOf(viaJson.email).length >= 1 && eventsOf(viaForm.email).length >= 1);
    // Everything recorded has been carried out: nothing more can arrive.
    const pending = async () =>
      (await context.observer.query<{ open: string }>(`SELECT count(*) AS open FROM "DigitalPipelineAction" WHERE "processedAt" IS NULL`))[0]!.open;
    const deadline = Date.now() + 30_000;
    while ((await pending()) !== "0" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await pending()).toBe("0");

    expect(eventsOf(viaJson.email)).toHaveLength(1);
    expect(eventsOf(viaForm.email)).toHaveLength(1);
    expect(eventsOf(untouched.email)).toHaveLength(0);
    expect(other.klaviyo.store.eventsNamed(EVENT_NAME)).toHaveLength(0);
    const [event] = eventsOf(viaJson.email);
    expect(event!.properties).toMatchObject({ kommo_deal_id: viaJson.leadId, dp_stage: "Incoming leads" });
    // The action's list, and one recorded action per real hook.
    expect(tenant.klaviyo.store.membersOf(tenant.klaviyo.lists.won).map((profile) => profile.email).sort()).toEqual([viaForm.email, viaJson.email].sort());
    const [recorded] = await context.observer.query<{ actions: string }>(`SELECT count(*) AS actions FROM "DigitalPipelineAction" WHERE "accountId" = $1`, [tenant.accountId]);
    expect(recorded!.actions).toBe("2");
  });
});
