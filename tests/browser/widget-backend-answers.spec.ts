// The widget shows what the backend answers, and nothing it answers can run in Kommo's page: here
// the widget's API calls are answered by the test (route interception) with markup and script in
// every string field — list, pipeline, stage, account and profile names, the key hint, emails,
// subjects, campaign names, error codes and messages, import errors — and both panels must show
// each of them as plain text. The same interception shows the pane's retry wording following the
// backend's `retryable`.
import type { BrowserContext, Page, Route } from "@playwright/test";
import { expect, openKommo, screenshot, test } from "./harness/fixtures";
import { createTenant, type Tenant } from "./harness/stack";

test.describe.configure({ mode: "serial" });

let tenant: Tenant;

test.beforeAll(async ({ stack }) => {
  tenant = await createTenant(stack, { subdomain: "hostilecamp", klaviyoOrganization: "Hostile Camp" });
});

test.afterAll(async () => {
  await tenant?.close();
});

/** A value for `field` that would run script, or break out of an attribute, if it were ever markup. */
const hostile = (field: string) => `${field} <img src=x onerror="window.__pwned=1"> "><script>window.__pwned=1</script> '><svg onload=window.__pwned=1>`;

type Answer = { status?: number; body: unknown };

/** Answer the widget's calls to the backend from `answers` ("GET /api/widget/settings" -> answer). */
async function answerWidgetApi(context: BrowserContext, answers: Record<string, Answer>): Promise<string[]> {
  const seen: string[] = [];
  const cors = {
    "Access-Control-Allow-Origin": tenant.harness.kommoOrigin,
    "Access-Control-Allow-Methods": "GET, POST, PUT, OPTIONS",
    "Access-Control-Allow-Headers": "X-Auth-Token, Content-Type",
    Vary: "Origin",
  };
  await context.route(`${tenant.stack.app.url}/api/widget/**`, async (route: Route) => {
    const request = route.request();
    if (request.method() === "OPTIONS") return route.fulfill({ status: 204, headers: cors });
    const key = `${request.method()} ${new URL(request.url()).pathname}`;
    seen.push(key);
    const answer = answers[key];
    if (!answer) return route.fulfill({ status: 500, headers: cors, contentType: "application/json", body: JSON.stringify({ error: { code: "unexpected_call", message: key } }) });
    return route.fulfill({ status: answer.status ?? 200, headers: cors, contentType: "application/json", body: JSON.stringify(answer.body) });
  });
  return seen;
}

/** Nothing ran, and nothing the backend sent became an element or an event handler. */
async function expectInert(page: Page): Promise<void> {
  // An <img onerror> would fire once the image fails to load: give it the time to.
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
  const found = await page.evaluate(() => {
    const root = [...document.querySelectorAll(".kvsync")];
    const elements = root.flatMap((node) => [node, ...node.querySelectorAll("*")]);
    return {
      injected: elements.filter((node) => /^(img|script|iframe|object|embed)$/i.test(node.tagName)).map((node) => node.outerHTML),
      handlers: elements.flatMap((node) => [...node.attributes].filter((attribute) => /^on/i.test(attribute.name)).map((attribute) => `${node.tagName} ${attribute.name}`)),
      links: elements.filter((node) => node.tagName === "A").map((node) => node.getAttribute("href")),
    };
  });
  expect(found.injected).toEqual([]);
  expect(found.handlers).toEqual([]);
  for (const href of found.links) expect(href ?? "https://").toMatch(/^https:\/\//);
}

test.afterEach(async ({ context }) => {
  await context.unrouteAll({ behavior: "wait" });
});

test("the settings panel shows every string from the backend as text", async ({ page, context }) => {
  await answerWidgetApi(context, {
    "GET /api/widget/settings": {
      body: {
        stageLists: [{ pipelineId: 7001, statusId: 11, listId: hostile("mapped list id") }],
        allDealsListId: "LsAll1",
        removeFromPreviousList: true,
        events: { dealCreated: hostile("event name"), stageChanged: "Stage Changed", dealWon: null, dealLost: "Deal Lost" },
        activityNotes: true,
        deleteProfileOnContactDelete: false,
        consent: { statusField: true, optInFieldId: 583921, optInListId: hostile("opt-in list id") },
        klaviyo: { connected: true, keyHint: hostile("key hint"), accountName: hostile("account name"), activityMode: "polling", activityPollSeconds: 60 },
      },
    },
    "GET /api/widget/kommo/contact-fields": { body: { checkboxes: [{ id: 583921, name: hostile("checkbox field") }] } },
    "GET /api/widget/kommo/pipelines": {
      body: { pipelines: [{ id: 7001, name: hostile("pipeline"), stages: [{ id: 11, name: hostile("stage") }, { id: 142, name: "Closed - won" }] }] },
    },
    "GET /api/widget/klaviyo/lists": {
      body: { lists: [{ id: "LsAll1", name: hostile("list name"), doubleOptIn: true }, { id: hostile("list id"), name: "Plain list", doubleOptIn: false }] },
    },
    "GET /api/widget/backfill": { body: { id: "run-1", status: "failed", done: 3, total: 10, errors: 2, lastError: hostile("import error") } },
    "PUT /api/widget/settings": { status: 400, body: { error: { code: "invalid_settings", message: hostile("validation message") } } },
    "POST /api/widget/backfill": { status: 409, body: { error: { code: hostile("error code"), message: hostile("error message") } } },
  });
  await openKommo(page, tenant, { area: "advanced_settings", lang: "en", theme: "dark" });
  const panel = page.locator(".kvsync-settings");
  await expect(panel.locator("[data-kvsync-connection]")).toContainText(`Connected to ${hostile("account name")}`);
  await expect(panel.locator("[data-kvsync-connection]")).toContainText(`Key ${hostile("key hint")}`);
  await expect(panel.locator(".kvsync__pipeline-name")).toHaveText(hostile("pipeline"));
  await expect(panel.locator('label[for="kvsync-stage-7001-11"]')).toHaveText(hostile("stage"));
  const stage = panel.locator('[data-kvsync-stage="7001:11"]');
  // The mapped list Klaviyo does not have: kept, selected, and named by its id.
  await expect(stage).toHaveValue(hostile("mapped list id"));
  await expect(stage.locator("option:checked")).toHaveText(`List not found in Klaviyo (${hostile("mapped list id")})`);
  await expect(stage.locator("option")).toContainText([`${hostile("list name")} (double opt-in)`, "Plain list"]);
  expect(await stage.locator("option").nth(2).getAttribute("value")).toBe(hostile("list id"));
  await expect(panel.locator('[data-kvsync-event="dealCreated"] [data-kvsync-event-name]')).toHaveValue(hostile("event name"));
  await expect(panel.locator("[data-kvsync-consent-field] option:checked")).toHaveText(hostile("checkbox field"));
  await expect(panel.locator("[data-kvsync-consent-list] option:checked")).toHaveText(`List not found in Klaviyo (${hostile("opt-in list id")})`);
  await expect(panel.locator("[data-kvsync-backfill-status]")).toHaveText(`The import stopped: ${hostile("import error")} · 2 deals could not be sent`);
  await expectInert(page);
  await screenshot(page, "settings-hostile-data-en-dark", { fullPage: true });

  // Refusals carry the backend's code and message into the page too.
  await panel.getByRole("button", { name: "Save" }).click();
  await expect(panel.locator("[data-kvsync-footer]")).toHaveText(`Some settings are not valid: ${hostile("validation message")}`);
  await panel.getByRole("button", { name: "Start import" }).click();
  await expect(panel.locator("[data-kvsync-backfill-error]")).toHaveText(`Something went wrong (${hostile("error code")}). Try again in a minute.`);
  await expectInert(page);
});

const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

function activityAnswer(problem: { code: string; message: string; retryable: boolean }, status: "failed" | "retrying") {
  return {
    leadId: 4242,
    timeZone: hostile("time zone"),
    klaviyoConnected: true,
    kommoAccess: "ok",
    sync: {
      status,
      lastSyncedAt: at(60),
      lastAttemptAt: at(5),
      pending: false,
      problem: { ...problem, reason: null },
      history: [
        { at: at(5), status, trigger: hostile("trigger"), errorCode: problem.code },
        { at: at(60), status: "ok", trigger: "update_lead", errorCode: null },
      ],
    },
    profile: {
      id: hostile("profile id"),
      email: hostile("email"),
      url: "javascript:window.__pwned=1",
      stage: hostile("stage"),
      lists: [
        { id: "LsWon1", name: hostile("list name") },
        { id: hostile("list id"), name: null },
      ],
    },
    consent: { status: hostile("consent status"), canReceiveEmail: false },
    activity: [
      { id: "e1", kind: "opened", metric: "Opened Email", subject: hostile("subject"), campaignOrFlow: null, occurredAt: at(10) },
      { id: "e2", kind: "received", metric: "Received Email", subject: null, campaignOrFlow: hostile("campaign"), occurredAt: at(20) },
      { id: "e3", kind: "other", metric: hostile("metric"), subject: null, campaignOrFlow: null, occurredAt: at(30) },
      { id: "e4", kind: hostile("kind"), metric: hostile("unknown kind metric"), subject: null, campaignOrFlow: null, occurredAt: at(40) },
    ],
  };
}

test("the deal-card pane shows every string from the backend as text", async ({ page, context }) => {
  await answerWidgetApi(context, {
    "GET /api/widget/leads/4242/activity": { body: activityAnswer({ code: hostile("problem code"), message: hostile("problem message"), retryable: false }, "failed") },
    "POST /api/widget/leads/4242/sync": { status: 409, body: { error: { code: hostile("sync error code"), message: hostile("sync error message") } } },
  });
  await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: 4242, lead: { name: "Deal", stage: "Qualified", price: "$1", contact: "Someone" } });
  const pane = page.locator(".kvsync-pane");
  await expect(pane.locator(".kvsync__email")).toHaveText(hostile("email"));
  expect(await pane.locator(".kvsync__email").getAttribute("title")).toBe(hostile("email"));
  // A link target that is not https is not a link.
  await expect(pane.locator("[data-kvsync-profile-link]")).toHaveCount(0);
  await expect(pane.locator("[data-kvsync-stage-name]")).toHaveText(hostile("stage"));
  await expect(pane.locator("[data-kvsync-lists] .kvsync__chip")).toHaveText([hostile("list name"), hostile("list id")]);
  await expect(pane.locator("[data-kvsync-consent-status]")).toHaveText(hostile("consent status"));
  const events = pane.locator("[data-kvsync-activity] li");
  await expect(events.locator(".kvsync__event-detail")).toHaveText([hostile("subject"), hostile("campaign")]);
  await expect(events.locator(".kvsync__event-title strong")).toHaveText(["Opened", "Received", hostile("metric"), hostile("unknown kind metric")]);
  // The problem's code and message are not shown; its words are the widget's own, and it is final.
  await expect(pane.locator("[data-kvsync-problem]")).toHaveText("The last sync did not finish.");
  await expectInert(page);
  await screenshot(page, "pane-hostile-data-en-light");

  await pane.getByRole("button", { name: "Sync now" }).click();
  await expect(pane.locator("[data-kvsync-notice]")).toHaveText(`Something went wrong (${hostile("sync error code")}). Try again in a minute.`);
  await expectInert(page);
});

test("the pane says a failure is retried automatically exactly when the backend says it is retryable", async ({ page, context }) => {
  const answers: Record<string, Answer> = {};
  await answerWidgetApi(context, answers);
  const open = () => openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: 4242, lead: { name: "Deal", stage: "Qualified", price: "$1", contact: "Someone" } });
  const problem = page.locator(".kvsync-pane [data-kvsync-problem]");

  answers["GET /api/widget/leads/4242/activity"] = { body: activityAnswer({ code: "klaviyo_server_error", message: "Klaviyo answered 503", retryable: true }, "retrying") };
  await open();
  await expect(problem).toHaveText("Klaviyo or Kommo was briefly unavailable; the sync is retried automatically.");

  // The same code after the last attempt: no longer retried.
  answers["GET /api/widget/leads/4242/activity"] = { body: activityAnswer({ code: "klaviyo_server_error", message: "Klaviyo answered 503", retryable: false }, "failed") };
  await open();
  await expect(problem).toHaveText("The last sync did not finish.");

  answers["GET /api/widget/leads/4242/activity"] = { body: activityAnswer({ code: "klaviyo_unexpected_response", message: "not JSON", retryable: false }, "failed") };
  await open();
  await expect(problem).toHaveText("The last sync did not finish.");
  await expect(page.locator(".kvsync-pane")).not.toContainText("retried automatically");
});
