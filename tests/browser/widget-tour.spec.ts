// The marketplace tour slides (manifest `tour`), taken from the sandbox of `npm run demo` at the
// slideshow's size, 1188x616, in every language of the widget: what a Kommo admin sees once the
// widget is installed. A deal won on the board and an email opened in Klaviyo first, then per
// language: the deal card's pane with its email activity, the board with the Klaviyo panel showing
// what arrived, the widget's settings (at the page's width) and the Digital Pipeline form. Every run drives the pages and
// checks what they show and the slides' size; DOCS_SCREENSHOTS=update writes them over
// widget/images/tour_<n>_<lang>.png, which `npm run widget:build` packs:
//
//   DOCS_SCREENSHOTS=update npx playwright test tests/browser/widget-tour.spec.ts
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { SANDBOX_TEXTS } from "../../scripts/sandbox/texts";
import { startDemo, stopDemo, type Demo } from "./harness/demo";
import { projectRoot } from "./harness/environment";

const SLIDE = { width: 1188, height: 616 };
const LANGUAGES = ["en", "es", "pt"] as const;
const UPDATE = process.env.DOCS_SCREENSHOTS === "update";
const IMAGES = UPDATE ? path.join(projectRoot, "widget", "images") : path.join(projectRoot, ".data", "test-results", "screenshots", "tour");

test.describe.configure({ mode: "serial", timeout: 240_000 });
test.use({ viewport: SLIDE, timezoneId: "America/New_York" });

let demo: Demo | undefined;

test.beforeAll(async () => {
  demo = await startDemo();
});

test.afterAll(async () => {
  await stopDemo(demo);
});

const widgetText = (lang: string, key: string): string =>
  key.split(".").reduce<unknown>((tree, part) => (tree as Record<string, unknown>)[part], JSON.parse(readFileSync(path.join(projectRoot, "widget", "i18n", `${lang}.json`), "utf8"))) as string;

const dealCard = (page: Page, name: string) => page.locator("[data-sb-lead]", { hasText: name });
const widgetFrame = (page: Page) => page.frameLocator("[data-sb-frame]");
const EMMA = "emma.clark@example.com";

/** Scrolls the page so that `selector` starts at the top of the slide (the Klaviyo panel is sticky). */
async function scrollTo(page: Page, selector: string): Promise<void> {
  await page.locator(selector).evaluate((node) => window.scrollTo(0, node.getBoundingClientRect().top + window.scrollY - 8));
}

async function slide(page: Page, number: number, lang: string): Promise<void> {
  mkdirSync(IMAGES, { recursive: true });
  const file = path.join(IMAGES, `tour_${number}_${lang}.png`);
  await page.screenshot({ path: file, animations: "disabled", caret: "hide" });
  const png = readFileSync(file);
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([SLIDE.width, SLIDE.height]);
  expect(png.length).toBeLessThanOrEqual(300 * 1024);
}

test("on the way: a deal won on the board reaches Klaviyo and the contact opening an email comes back to the deal", async ({ page }) => {
  await page.goto(demo!.sandboxUrl);
  const box = page.locator(`[data-sb-profile="${EMMA}"]`);
  await expect(box).toHaveCount(1, { timeout: 60_000 });
  await dealCard(page, "Meeting room refit").locator("[data-sb-won]").click();
  await dealCard(page, "Meeting room refit").locator("[data-sb-open]").click();
  await expect(box.locator('[data-sb-event="Deal Won"]')).toHaveCount(1, { timeout: 30_000 });
  const pane = widgetFrame(page).locator(".kvsync-pane");
  await expect(pane.locator('[data-kvsync-state="profile"]')).toBeVisible({ timeout: 30_000 });
  await box.locator('[data-sb-email-action="open"]').click();
  await expect(pane.locator('[data-kvsync-activity] [data-kvsync-event-kind="opened"]')).toHaveCount(1, { timeout: 30_000 });
});

for (const lang of LANGUAGES) {
  test(`the tour slides in ${lang}: the deal card's pane, the board with Klaviyo, the settings, the Digital Pipeline form`, async ({ page }) => {
    await page.goto(`${demo!.sandboxUrl}/?lang=${lang}`);
    await expect(page.locator(".sb-board h2")).toHaveText(SANDBOX_TEXTS[lang].board);
    await dealCard(page, "Meeting room refit").locator("[data-sb-open]").click();
    const box = page.locator(`[data-sb-profile="${EMMA}"]`);
    await expect(box).toHaveAttribute("open", "");
    await expect(box.locator('[data-sb-event="Opened Email"]')).toHaveCount(1);

    // 1: the deal card, the widget's pane in the widget's language, the email activity in it.
    const pane = widgetFrame(page).locator(".kvsync-pane");
    await expect(pane.locator('[data-kvsync-activity] [data-kvsync-event-kind="opened"]')).toHaveCount(1, { timeout: 30_000 });
    await expect(pane).toContainText(widgetText(lang, "pane.sync_now"));
    await scrollTo(page, ".sb-widget");
    await slide(page, 1, lang);

    // 2: the board, the won deal, and what the Klaviyo account received for it.
    await expect(page.locator('[data-sb-stage="Won"] [data-sb-lead]', { hasText: "Meeting room refit" })).toHaveCount(1);
    await expect(box.locator('[data-sb-event="Deal Won"]')).toHaveCount(1);
    await page.evaluate(() => window.scrollTo(0, 0));
    await slide(page, 2, lang);

    // 3: the widget's settings: connected, stages mapped to lists. Kommo shows them across its page,
    // so the sandbox's Klaviyo panel makes way for them.
    const fullWidth = await page.addStyleTag({ content: ".sb-main { grid-template-columns: minmax(0, 1fr); } .sb-klaviyo { display: none; }" });
    await page.locator('[data-sb-tab="settings"]').click();
    const settings = widgetFrame(page).locator(".kvsync-settings");
    await expect(settings.locator("[data-kvsync-connection]")).toContainText(widgetText(lang, "panel.key.connected").replace("{account}", "Northwind Furniture"));
    await scrollTo(page, ".sb-widget");
    await slide(page, 3, lang);
    await fullWidth.evaluate((style) => (style as HTMLStyleElement).remove());

    // 4: the Digital Pipeline action's form, an event name filled in.
    await page.locator('[data-sb-tab="digital_pipeline"]').click();
    const dp = widgetFrame(page);
    await expect(dp.locator('.kp-dp__form input[name="kss_token"]')).not.toHaveValue("", { timeout: 15_000 });
    await dp.locator("[data-kvsync-dp-event]").fill("Proposal Requested");
    await expect(dp.locator('.kp-dp__form input[name="event_name"]')).toHaveValue("Proposal Requested");
    await scrollTo(page, ".sb-widget");
    await slide(page, 4, lang);
  });
}
