// The marketplace tour slides (manifest `tour`, 1188x616): real screenshots of the widget on the
// Kommo-like page, against the real backend with a small, believable account. Every run takes
// them and checks their size; with WIDGET_TOUR=update it writes them over widget/images/tour_N.png,
// which `npm run widget:build` packs:
//
//   WIDGET_TOUR=update npx playwright test tests/browser/widget-tour.spec.ts
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";
import { expect, openKommo, SCREENSHOT_DIR, test } from "./harness/fixtures";
import { projectRoot } from "./harness/environment";
import { createTenant, seedDeal, storeEmailActivity, type Tenant } from "./harness/stack";

const SLIDE = { width: 1188, height: 616 };
const UPDATE = process.env.WIDGET_TOUR === "update";

test.describe.configure({ mode: "serial" });
test.use({ viewport: SLIDE, timezoneId: "America/New_York" });

let tenant: Tenant;

test.beforeAll(async ({ stack }) => {
  tenant = await createTenant(stack, { subdomain: "northpeak", klaviyoOrganization: "North Peak Outfitters" });
  const account = tenant.klaviyoAccount;
  const lists = {
    warm: account.createList("Warm leads").id,
    proposal: account.createList("Proposal follow-up").id,
    customers: account.createList("Customers").id,
    all: account.createList("All CRM deals").id,
  };
  const [sales, partners] = tenant.pipelines;
  const stage = (name: string, pipeline = sales!) => pipeline.stages.find((candidate) => candidate.name === name)!.id;
  const saved = await tenant.widgetApi("PUT", "/api/widget/settings", {
    klaviyoApiKey: tenant.klaviyoKey,
    stageLists: [
      { pipelineId: sales!.id, statusId: stage("Qualified"), listId: lists.warm },
      { pipelineId: sales!.id, statusId: stage("Proposal sent"), listId: lists.proposal },
      { pipelineId: sales!.id, statusId: 142, listId: lists.customers },
      { pipelineId: partners!.id, statusId: stage("Onboarding", partners), listId: lists.warm },
    ],
    allDealsListId: lists.all,
  });
  expect(saved.status).toBe(200);
});

test.afterAll(async () => {
  await tenant?.close();
});

/** Scroll the page so that `selector` starts near the top of the slide. */
async function scrollTo(page: Page, selector: string): Promise<void> {
  await page.locator(selector).evaluate((node) => {
    node.scrollIntoView({ block: "start" });
    window.scrollBy(0, -24);
  });
}

async function slide(page: Page, number: number): Promise<void> {
  const file = UPDATE ? path.join(projectRoot, "widget", "images", `tour_${number}.png`) : path.join(SCREENSHOT_DIR, `tour_${number}.png`);
  await page.screenshot({ path: file, animations: "disabled", caret: "hide" });
  const png = readFileSync(file);
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([SLIDE.width, SLIDE.height]);
  expect(png.length).toBeLessThanOrEqual(300 * 1024);
}

test("tour 1: connect Klaviyo and map pipeline stages to lists, in Kommo's settings", async ({ page }) => {
  await openKommo(page, tenant, { area: "settings", lang: "en", theme: "light" });
  const panel = page.locator(".kvsync-settings");
  await expect(panel.locator("[data-kvsync-connection]")).toContainText("Connected to North Peak Outfitters");
  await expect(panel.locator("[data-kvsync-stage]").first()).toBeEnabled();
  await scrollTo(page, '.kvsync-settings [data-kvsync-section="key"]');
  await slide(page, 1);
});

test("tour 2: the contact's Klaviyo profile, lists and email activity in the deal card", async ({ page }) => {
  const email = "anna.berg@example.com";
  const { lead } = seedDeal(tenant, { name: "Expedition tents for Fjord Trails", stage: "Proposal sent", price: 12800, firstName: "Anna", lastName: "Berg", email, phone: "+1 303 555 0142" });
  const card = { name: lead.name, stage: "Proposal sent", price: "$12,800", contact: "Anna Berg" };
  await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: lead.id, lead: card });
  await page.getByRole("button", { name: "Sync now" }).click();
  await expect(page.locator('[data-kvsync-state="profile"]')).toBeVisible({ timeout: 30_000 });

  const account = tenant.klaviyoAccount;
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
  account.seedEvent({ metric: "Received Email", email, datetime: at(2900), properties: { Subject: "Welcome to North Peak", "Campaign Name": "Welcome series" } });
  account.seedEvent({ metric: "Opened Email", email, datetime: at(2880), properties: { Subject: "Welcome to North Peak" } });
  account.seedEvent({ metric: "Received Email", email, datetime: at(420), properties: { Subject: "Your expedition tent proposal" } });
  account.seedEvent({ metric: "Opened Email", email, datetime: at(300), properties: { Subject: "Your expedition tent proposal" } });
  account.seedEvent({ metric: "Clicked Email", email, datetime: at(296), properties: { Subject: "Your expedition tent proposal", URL: "https://shop.example/tents" } });
  await storeEmailActivity(tenant, email);

  await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: lead.id, lead: card });
  await expect(page.locator("[data-kvsync-activity] li")).toHaveCount(5);
  await slide(page, 2);
});

test("tour 3: event names for Klaviyo flows and the import of existing deals, in Kommo's dark theme", async ({ page }) => {
  seedDeal(tenant, { name: "Base camp kitchen set", stage: "Qualified", price: 2400, firstName: "Ravi", lastName: "Shah", email: "ravi.shah@example.com", phone: "+1 303 555 0178" });
  seedDeal(tenant, { name: "Guided trip gear", stage: "Negotiation", price: 5600, firstName: "Mia", lastName: "Lund", email: "mia.lund@example.com", phone: "+1 303 555 0191" });
  expect((await tenant.widgetApi("POST", "/api/widget/backfill", {})).status).toBe(202);
  await expect
    .poll(async () => ((await tenant.widgetApi("GET", "/api/widget/backfill")).body as { status: string }).status, { timeout: 30_000 })
    .toBe("completed");
  await openKommo(page, tenant, { area: "advanced_settings", lang: "en", theme: "dark" });
  const panel = page.locator(".kvsync-settings--page");
  await expect(panel.locator("[data-kvsync-backfill-status]")).toHaveText("Import finished: 3 deals sent");
  await scrollTo(page, '.kvsync-settings [data-kvsync-section="events"]');
  await slide(page, 3);
});
