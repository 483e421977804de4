// The Digital Pipeline action "Send to Klaviyo" end to end: the admin's widget reads the hook URL
// and token, Kommo posts hooks (JSON and form-encoded) to the real route, the real queue and worker
// carry them out against both simulators. Exactly one Klaviyo event per real hook; nothing for a
// redelivery, a forged token, another account's token, an unknown account or a non-acting type.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as dpRoute } from "@/app/api/kommo/dp/route";
import { GET as getDigitalPipeline, POST as postDigitalPipeline } from "@/app/api/widget/digital-pipeline/route";
import { GET as getMetrics } from "@/app/api/widget/klaviyo/metrics/route";
import { db } from "@/lib/db/client";
import { describeTrigger } from "@/lib/features/dashboard/format";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { ALL_JOBS } from "@/lib/worker";
import { callWidget, connectKlaviyo, startSimulators, stopSimulators } from "./account-fixtures";
import { installAccount, sql, type InstalledAccount } from "./kommo-fixtures";
import { ALL_SCOPES, emailMarketing, subscriptionJobs, unsubscribeAsRecipient, type KlaviyoSimulator } from "../simulators/klaviyo";
import type { KommoSimulator } from "../simulators/kommo";

type RouteHandler = Parameters<typeof callWidget>[2];

let kommo: KommoSimulator;
let klaviyo: KlaviyoSimulator;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  ({ kommo, klaviyo } = await startSimulators());
  worker = await startWorker({ databaseUrl: process.env.DATABASE_URL!, jobs: ALL_JOBS, log: pino({ level: "silent" }), concurrency: 2 });
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 2000 });
  await stopSimulators({ kommo, klaviyo });
});

async function post(body: string, contentType: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await dpRoute(
    new Request("http://127.0.0.1/api/kommo/dp", { method: "POST", headers: { "Content-Type": contentType, "User-Agent": "amoCRM-Webhooks/3.0" }, body }),
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function hook(
  installed: InstalledAccount,
  leadId: number,
  options: { encoding: "json" | "form"; settings: Record<string, string | undefined>; type?: number; asAccount?: number },
) {
  const { body, contentType } = kommo.digitalPipelineHookBody(installed.kommoAccountId, leadId, options);
  // Another account's id in the body: the same delivery, claiming to be someone else.
  const claimed = options.asAccount === undefined ? body : body.replaceAll(String(installed.kommoAccountId), String(options.asAccount));
  return post(claimed, contentType);
}

async function actionsRecorded(accountId: string): Promise<number> {
  return db().digitalPipelineAction.count({ where: { accountId } });
}

/** Every recorded action carried out and no action job left. */
async function drained(accountId: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [pending] = await sql<{ actions: string; jobs: string }>(
      `SELECT (SELECT count(*) FROM "DigitalPipelineAction" WHERE "accountId" = $1 AND "processedAt" IS NULL) AS actions,
              (SELECT count(*) FROM pgboss.job WHERE name = 'digital-pipeline-action' AND data->>'accountId' = $1::text AND state IN ('created', 'retry', 'active')) AS jobs`,
      [accountId],
    );
    if (Number(pending!.actions) === 0 && Number(pending!.jobs) === 0) return;
    if (Date.now() > deadline) throw new Error(`not drained after ${timeoutMs} ms: ${JSON.stringify(pending)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The Create Event calls Klaviyo received for a metric (not what it kept: it de-duplicates itself). */
const eventCallsFor = (metric: string) =>
  klaviyo.requests.filter((request) => {
    if (request.method !== "POST" || request.path !== "/api/events") return false;
    const body = request.body as { data?: { attributes?: { metric?: { data?: { attributes?: { name?: string } } } } } };
    return body.data?.attributes?.metric?.data?.attributes?.name === metric && request.status < 300;
  });

describe("Digital Pipeline action 'Send to Klaviyo'", () => {
  it("sends one event per hook in either encoding, and nothing for redeliveries, forged tokens, other accounts or other types", async () => {
    const installed = await installAccount(kommo);
    const other = await installAccount(kommo);
    const key = "pk_dp_e2e_0123456789abcdef";
    const store = klaviyo.createAccount(`Store of ${installed.subdomain}`);
    klaviyo.addKey(key, { scopes: ALL_SCOPES, account: store });
    // Consent on, both ways: the action must still never subscribe anyone, nor lift a suppression.
    const optIn = kommo.addContactField(installed.kommoAccountId, { name: "Newsletter opt-in", type: "checkbox" });
    await connectKlaviyo(kommo, installed, key, { consent: { statusField: true, optInFieldId: optIn.id } });
    const demoList = store.createList("Demo booked").id;
    store.seedEvent({ metric: "Received Email", email: "bob@example.com" });
    unsubscribeAsRecipient(store, "bob@example.com");

    // The widget's dpSettings reads the hook URL and the token it writes into kss_token.
    const settings = await callWidget(kommo, installed, getDigitalPipeline as RouteHandler, "GET");
    expect(settings.status).toBe(200);
    expect(settings.body.webhookUrl).toMatch(/\/api\/kommo\/dp$/);
    const token = settings.body.token as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect((await callWidget(kommo, installed, getDigitalPipeline as RouteHandler, "GET")).body.token).toBe(token);
    const stored = await db().account.findUniqueOrThrow({ where: { id: installed.accountId }, select: { dpTokenEnc: true } });
    expect(stored.dpTokenEnc).not.toContain(token);
    const otherToken = (await callWidget(kommo, other, getDigitalPipeline as RouteHandler, "GET")).body.token as string;
    expect(otherToken).not.toBe(token);

    // Event-name suggestions: the Klaviyo account's metric names.
    const metrics = await callWidget(kommo, installed, getMetrics as RouteHandler, "GET");
    expect(metrics.status).toBe(200);
    expect(metrics.body.metrics).toEqual(expect.arrayContaining(["Opened Email"]));

    const accountId = installed.kommoAccountId;
    const pipeline = kommo.seedPipeline(accountId, { name: "Sales", stages: ["Qualified", "Demo"], isMain: true });
    const demo = pipeline.statuses.find((status) => status.name === "Demo")!;
    const ada = kommo.seedContact(accountId, { firstName: "Ada", lastName: "Lovelace", emails: ["ada@example.com"] });
    const bob = kommo.seedContact(accountId, { firstName: "Bob", lastName: "Stone", emails: ["bob@example.com"] });
    const nomail = kommo.seedContact(accountId, { firstName: "No", lastName: "Mail", phones: ["+12125550142"] });
    const adaLead = kommo.seedLead(accountId, { name: "Ada - robots", price: 12500, pipelineId: pipeline.id, statusId: demo.id, contactIds: [ada.id] });
    const bobLead = kommo.seedLead(accountId, { name: "Bob - robot", price: 900, pipelineId: pipeline.id, statusId: demo.id, contactIds: [bob.id] });
    const nomailLead = kommo.seedLead(accountId, { name: "No mail", pipelineId: pipeline.id, statusId: demo.id, contactIds: [nomail.id] });

    const action = { event_name: "Demo Booked", list_id: demoList, kss_token: token };
    // The documented JSON body, then the same keys form-encoded.
    expect(await hook(installed, adaLead.id, { encoding: "json", settings: action })).toEqual({ status: 200, body: { received: true } });
    expect(await hook(installed, bobLead.id, { encoding: "form", settings: { event_name: "Demo Booked", kss_token: token } })).toEqual({
      status: 200,
      body: { received: true },
    });
    expect(await hook(installed, nomailLead.id, { encoding: "form", settings: action })).toMatchObject({ status: 200 });
    expect(await actionsRecorded(installed.accountId)).toBe(3);

    // Redeliveries, in either encoding: acknowledged, nothing new recorded.
    expect((await hook(installed, adaLead.id, { encoding: "json", settings: action })).status).toBe(200);
    expect((await hook(installed, adaLead.id, { encoding: "form", settings: action })).status).toBe(200);
    // A non-acting type (incoming call): acknowledged and ignored.
    expect(await hook(installed, adaLead.id, { encoding: "json", settings: action, type: 17 })).toMatchObject({ status: 200, body: { received: true } });
    // A forged token, a missing one, another account's token, an unknown account.
    expect((await hook(installed, adaLead.id, { encoding: "json", settings: { ...action, kss_token: "forged-token-forged-token-forged-token-1234" } })).status).toBe(401);
    expect((await hook(installed, adaLead.id, { encoding: "form", settings: { ...action, kss_token: undefined } })).status).toBe(401);
    expect((await hook(installed, adaLead.id, { encoding: "json", settings: { ...action, kss_token: otherToken } })).status).toBe(401);
    expect((await hook(installed, adaLead.id, { encoding: "json", settings: action, asAccount: other.kommoAccountId })).status).toBe(401);
    expect((await hook(installed, adaLead.id, { encoding: "json", settings: action, asAccount: 1_999_999_999 })).status).toBe(404);
    // Bad input: a clear 4xx.
    expect(await post("{not json", "application/json")).toMatchObject({ status: 400, body: { error: { code: "malformed_body" } } });
    expect((await post("event[type]=14", "application/x-www-form-urlencoded")).status).toBe(400);
    expect((await post("hello", "text/plain")).status).toBe(415);
    expect((await hook(installed, adaLead.id, { encoding: "json", settings: { ...action, list_id: "not a list!" } })).status).toBe(400);
    expect((await hook(installed, adaLead.id, { encoding: "json", settings: { ...action, event_name: "" } })).status).toBe(400);
    expect(await actionsRecorded(installed.accountId)).toBe(3);
    expect(await actionsRecorded(other.accountId)).toBe(0);

    await drained(installed.accountId);

    // Exactly one Create Event call and one event per real hook.
    expect(eventCallsFor("Demo Booked")).toHaveLength(2);
    expect(klaviyo.invalidRequests()).toEqual([]);
    const [adaEvent, ...moreAda] = store.eventsNamed("Demo Booked", "ada@example.com");
    expect(moreAda).toEqual([]);
    expect(adaEvent!.properties).toMatchObject({
      deal_name: "Ada - robots",
      deal_stage: "Demo",
      dp_stage: "Demo",
      deal_amount: 12500,
      kommo_deal_id: adaLead.id,
      pipeline: "Sales",
    });
    expect(adaEvent!.uniqueId).toBe(`kommo:${accountId}:lead:${adaLead.id}:dp:${demo.id}:${adaLead.updated_at}:${adaEvent!.uniqueId!.split(":").pop()}`);
    expect(adaEvent!.value).toBe(12500);
    expect(store.eventsNamed("Demo Booked", "bob@example.com")).toHaveLength(1);
    // The profile as a sync sends it; the list only where the action names one; never a subscription.
    expect(store.profileByEmail("ada@example.com")).toMatchObject({ first_name: "Ada", last_name: "Lovelace" });
    expect(store.profileByEmail("ada@example.com")!.properties).toMatchObject({ crm_stage: "Demo", kommo_deal_id: adaLead.id });
    expect(store.membersOf(demoList).map((profile) => profile.email)).toEqual(["ada@example.com"]);
    // Only the settings' scope check reached a subscription endpoint, and Klaviyo refused its empty job.
    expect(klaviyo.requests.filter((request) => request.path.includes("subscription")).map((request) => request.status)).toEqual([400]);
    expect(subscriptionJobs(store)).toEqual([]);
    expect(emailMarketing(store.profileByEmail("bob@example.com")!)).toMatchObject({ consent: "UNSUBSCRIBED", suppression: [{ reason: "UNSUBSCRIBE" }] });

    // One note per action on the deal; the deal without an email is skipped with the reason.
    const notes = kommo.account(accountId).notes;
    const notesOf = (leadId: number) => notes.filter((note) => note.entity_id === leadId);
    expect(notesOf(adaLead.id)).toHaveLength(1);
    expect(String(notesOf(adaLead.id)[0]!.params.text)).toContain('"Demo Booked" for ada@example.com and added the profile to the list Demo booked');
    expect(notesOf(bobLead.id)).toHaveLength(1);
    expect(notesOf(nomailLead.id)).toHaveLength(0);
    const logs = await db().syncLog.findMany({ where: { accountId: installed.accountId }, orderBy: { createdAt: "asc" } });
    const dpLogs = logs.filter((log) => log.trigger.startsWith("digital_pipeline:"));
    expect(dpLogs.map((log) => [Number(log.leadId), log.status, log.errorCode]).sort()).toEqual(
      [
        [adaLead.id, "ok", null],
        [bobLead.id, "ok", null],
        [nomailLead.id, "skipped", "no_email"],
      ].sort(),
    );
    expect(describeTrigger(dpLogs[0]!.trigger)).toBe("Digital Pipeline: Demo Booked");

    // Another stage entry later is a new event; rotating the token retires the old one.
    kommo.advanceTime(5000);
    kommo.updateLead(accountId, adaLead.id, { name: "Ada - more robots" });
    expect((await hook(installed, adaLead.id, { encoding: "form", settings: action })).status).toBe(200);
    const rotated = await callWidget(kommo, installed, postDigitalPipeline as RouteHandler, "POST", { rotate: true });
    expect(rotated.status).toBe(200);
    expect(rotated.body.token).not.toBe(token);
    expect((await callWidget(kommo, installed, postDigitalPipeline as RouteHandler, "POST", { rotate: "yes" })).status).toBe(400);
    kommo.advanceTime(5000);
    kommo.updateLead(accountId, adaLead.id, { name: "Ada - even more robots" });
    expect((await hook(installed, adaLead.id, { encoding: "json", settings: action })).status).toBe(401);
    expect((await hook(installed, adaLead.id, { encoding: "json", settings: { ...action, kss_token: rotated.body.token as string } })).status).toBe(200);
    await drained(installed.accountId);
    expect(store.eventsNamed("Demo Booked", "ada@example.com")).toHaveLength(3);
    expect(eventCallsFor("Demo Booked")).toHaveLength(4);
    expect(notesOf(adaLead.id)).toHaveLength(3);
  });

  it("answers the widget's Digital Pipeline routes to admins only", async () => {
    const installed = await installAccount(kommo);
    const { widgetToken } = await import("../helpers/widget-token");
    const user = kommo.account(installed.kommoAccountId).users[0]!;
    const token = await widgetToken({ accountId: installed.kommoAccountId, userId: user.id, subdomain: installed.subdomain, isAdmin: false });
    const response = await getDigitalPipeline(
      new Request("http://127.0.0.1/api/widget/digital-pipeline", { headers: { "X-Auth-Token": token, Origin: `https://${installed.subdomain}.kommo.com` } }),
      { params: Promise.resolve({}) },
    );
    expect(response.status).toBe(403);
    expect(JSON.stringify(await response.json())).not.toMatch(/token"/);
    expect((await db().account.findUniqueOrThrow({ where: { id: installed.accountId } })).dpTokenEnc).toBeNull();
  });
});
