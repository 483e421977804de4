// `npm run demo` as a new user meets it: started in a throwaway DATA_DIR, it prints the sandbox's
// URL; on that page a deal moved to Won reaches the Klaviyo side panel (crm_stage Won, a Deal Won
// event), and the contact opening an email comes back into the deal card's pane and as a note on
// the deal. Ctrl-C (SIGINT to the demo alone) then stops every process it started.
//
// The guides' screenshots (docs/images) are taken on the way; DOCS_SCREENSHOTS=update writes them
// over the committed ones:
//
//   DOCS_SCREENSHOTS=update npx playwright test tests/browser/demo-sandbox.spec.ts
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { groupAlive, startDemo, stopDemo, until, type Demo } from "./harness/demo";
import { appEnvironment, projectRoot } from "./harness/environment";

const UPDATE = process.env.DOCS_SCREENSHOTS === "update";
const IMAGES = UPDATE ? path.join(projectRoot, "docs", "images") : path.join(projectRoot, ".data", "test-results", "screenshots", "docs");

test.describe.configure({ mode: "serial", timeout: 240_000 });
test.use({ viewport: { width: 1440, height: 1000 }, timezoneId: "America/New_York" });

let demo: Demo;
let sandboxUrl = "";

test.beforeAll(async () => {
  const started = Date.now();
  demo = await startDemo();
  sandboxUrl = demo.sandboxUrl;
  expect(Date.now() - started).toBeLessThan(120_000);
});

test.afterAll(async () => {
  await stopDemo(demo);
});

async function shot(target: Page | Locator, name: string): Promise<void> {
  mkdirSync(IMAGES, { recursive: true });
  await target.screenshot({ path: path.join(IMAGES, `${name}.png`), animations: "disabled" });
}

const dealCard = (page: Page, name: string) => page.locator("[data-sb-lead]", { hasText: name });
const profile = (page: Page, email: string) => page.locator(`[data-sb-profile="${email}"]`);
const property = (box: Locator, key: string) => box.locator(`.sb-props >> nth=0`).locator(`dt:text-is("${key}") + dd`);

test("the sandbox: a deal won on the board reaches Klaviyo, and an opened email comes back to the deal", async ({ page }) => {
  await page.goto(sandboxUrl);
  await expect(page.locator("[data-sb-stage]")).toHaveCount(5);
  await expect(page.locator('[data-sb-stage="Negotiation"] [data-sb-lead]')).toHaveCount(1);

  // The install's import has sent the seeded deals: history, marked backfill.
  const email = "emma.clark@example.com";
  await expect(profile(page, email)).toHaveCount(1, { timeout: 60_000 });
  await expect(property(profile(page, email), "crm_stage")).toHaveText("Negotiation");
  await expect(profile(page, email).locator("[data-sb-event] .sb-chip--muted").first()).toHaveText("backfill");

  await dealCard(page, "Meeting room refit").locator("[data-sb-won]").click();
  await expect(page.locator('[data-sb-stage="Won"] [data-sb-lead]', { hasText: "Meeting room refit" })).toHaveCount(1);
  await dealCard(page, "Meeting room refit").locator("[data-sb-open]").click();

  const box = profile(page, email);
  await expect(box).toHaveAttribute("open", "");
  await expect(property(box, "crm_stage")).toHaveText("Won", { timeout: 30_000 });
  await expect(box.locator('[data-sb-event="Deal Won"]')).toHaveCount(1);
  await expect(box.locator("[data-sb-lists]")).toContainText("Onboarding and cross-sell");
  await shot(page, "sandbox-board");
  await shot(page.locator("[data-sb-klaviyo]"), "klaviyo-profile-won");

  const pane = page.frameLocator("[data-sb-frame]").locator(".kvsync-pane");
  await expect(pane.locator('[data-kvsync-state="profile"]')).toBeVisible({ timeout: 30_000 });
  await expect(pane.locator("[data-kvsync-stage-name]")).toHaveText("Won");

  await box.locator('[data-sb-email-action="open"]').click();
  await expect(box.locator('[data-sb-event="Opened Email"]')).toHaveCount(1);
  // Delivered as Klaviyo's signed webhook: stored at once, the pane shows it when the card opens again.
  await expect(pane.locator('[data-kvsync-activity] [data-kvsync-event-kind="opened"]')).toHaveCount(1, { timeout: 30_000 });
  // The account's activity job writes the note on the deal in Kommo.
  await expect(page.locator("[data-sb-notes]")).toContainText('Opened email "Your proposal from Northwind Furniture"', { timeout: 60_000 });
  await shot(page.locator(".sb-widget"), "admin-pane");
  await shot(page.locator("[data-sb-klaviyo]"), "klaviyo-profile-opened");

  // The widget's settings panel and the Digital Pipeline form, from the same real widget.
  await page.locator('[data-sb-tab="settings"]').click();
  const settings = page.frameLocator("[data-sb-frame]").locator(".kvsync-settings");
  await expect(settings.locator("[data-kvsync-connection]")).toContainText("Connected to Northwind Furniture");
  await shot(page.locator(".sb-widget"), "admin-settings");

  // A custom event from the Digital Pipeline: the widget's form, saved on a stage; a deal entering it sends the event.
  await page.locator('[data-sb-tab="digital_pipeline"]').click();
  const dp = page.frameLocator("[data-sb-frame]");
  await expect(dp.locator('.kp-dp__form input[name="kss_token"]')).not.toHaveValue("", { timeout: 15_000 });
  await dp.locator("[data-kvsync-dp-event]").fill("Proposal Requested");
  await expect(dp.locator('.kp-dp__form input[name="event_name"]')).toHaveValue("Proposal Requested");
  await page.locator("[data-sb-dp-stage]").selectOption({ label: "Proposal" });
  await page.locator("[data-sb-dp-button]").click();
  await expect(page.locator("[data-sb-dp-saved]")).toHaveText('Saved: "Proposal Requested" on Proposal');
  await shot(page.locator(".sb-widget"), "digital-pipeline-form");
  await dealCard(page, "Lounge sofas").locator("[data-sb-move]").selectOption({ label: "Proposal" });
  const lucas = profile(page, "lucas.meyer@example.com");
  await expect(lucas.locator('[data-sb-event="Proposal Requested"]')).toHaveCount(1, { timeout: 30_000 });
  await expect(lucas.locator('[data-sb-event="Stage Changed"]')).toHaveCount(1);
});

test("the board's other actions reach Klaviyo too: an amount, a contact's email, a new deal, a lost deal", async ({ page }) => {
  await page.goto(sandboxUrl);
  await dealCard(page, "Standing desks, 2nd floor").locator("[data-sb-open]").click();
  await page.locator("[data-sb-amount]").fill("13900");
  await page.locator("[data-sb-save-amount]").click();
  const diego = profile(page, "diego.ramos@example.com");
  await expect(property(diego, "deal_amount")).toHaveText("13900", { timeout: 30_000 });

  await page.locator("[data-sb-contact-email]").fill("diego@ramos.example");
  await page.locator("[data-sb-save-contact]").click();
  await expect(property(profile(page, "diego@ramos.example"), "kommo_deal_name")).toHaveText("Standing desks, 2nd floor", { timeout: 30_000 });

  const form = page.locator("[data-sb-add]");
  await form.locator('input[name="name"]').fill("Reception desk");
  await form.locator('input[name="price"]').fill("2500");
  await form.locator('input[name="firstName"]').fill("Noor");
  await form.locator('input[name="lastName"]').fill("Haddad");
  await form.locator('input[name="email"]').fill("noor.haddad@example.com");
  await form.locator('select[name="statusId"]').selectOption({ label: "Qualification" });
  await form.getByRole("button").click();
  const noor = profile(page, "noor.haddad@example.com");
  await expect(noor.locator('[data-sb-event="Deal Created"]')).toHaveCount(1, { timeout: 30_000 });
  await expect(noor.locator("[data-sb-lists]")).toContainText("Nurture");

  await dealCard(page, "Reception desk").locator("[data-sb-lost]").click();
  await expect(noor.locator('[data-sb-event="Deal Lost"]')).toHaveCount(1, { timeout: 30_000 });
  await expect(property(noor, "crm_stage")).toHaveText("Lost");
  await expect(noor.locator("[data-sb-lists]")).toContainText("Win-back");
});

test("the sandbox speaks the widget's languages: Spanish and Portuguese, the widget included", async ({ page }) => {
  await page.goto(`${sandboxUrl}/?lang=pt`);
  await expect(page.locator(".sb-board h2")).toHaveText("Funil de vendas");
  await dealCard(page, "Meeting room refit").locator("[data-sb-open]").click();
  await expect(page.frameLocator("[data-sb-frame]").locator("[data-kvsync-activity]")).toBeVisible({ timeout: 30_000 });
  await expect(page.frameLocator("[data-sb-frame]").locator(".kvsync-pane")).toContainText("Sincronizar agora");
  await page.goto(`${sandboxUrl}/?lang=es`);
  await expect(page.locator(".sb-board h2")).toHaveText("Embudo de ventas");
});

test("the app's home page is the front door: the flow, the sandbox while the demo runs, and the dashboard's sign-in", async ({ page }) => {
  await page.goto(sandboxUrl);
  const [home] = await Promise.all([page.waitForEvent("popup"), page.getByRole("link", { name: "About the product" }).click()]);
  await expect(home.getByRole("img", { name: /A deal change in Kommo/ })).toBeVisible();
  await expect(home.getByTestId("home-sandbox").getByRole("link", { name: "Open the sandbox" })).toHaveAttribute("href", sandboxUrl);
  await home.getByTestId("home-sign-in").click();
  await home.getByRole("button", { name: "Sign in with Kommo" }).click();
  await home.getByRole("button", { name: "Allow" }).click();
  await expect(home).toHaveURL(/\/dashboard(\/accounts\/[^/]+)?$/);
  await expect(home.getByTestId("viewer")).toBeVisible();
});

test("Ctrl-C stops the demo and every process it started", async () => {
  const child = demo.process;
  const pid = child.pid!;
  child.kill("SIGINT");
  await until("the demo stopping", () => child.exitCode !== null, 60_000, demo.output);
  expect(child.exitCode).toBe(0);
  await until("every process of the demo ending", () => !groupAlive(pid), 15_000, demo.output);
  // The embedded PostgreSQL runs in a process group of its own: nothing may still use the demo's folder.
  await until("the embedded PostgreSQL stopping", () => !execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes(demo.dataDir), 15_000, demo.output);
});

test("the demo refuses production mode, before it starts anything", () => {
  const untouched = mkdtempSync(path.join(tmpdir(), "kss-demo-refused-"));
  const refused = spawnSync(process.execPath, ["--import", "tsx", path.join(projectRoot, "scripts/demo.ts")], {
    cwd: projectRoot,
    env: appEnvironment({ NODE_ENV: "production", DATA_DIR: untouched }),
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(refused.status).toBe(1);
  expect(refused.stderr).toContain("refused in production mode");
  expect(readdirSync(untouched)).toEqual([]);
  rmSync(untouched, { recursive: true });
});
