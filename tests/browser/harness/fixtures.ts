// Playwright fixtures of the browser suite: `stack` (started once per worker, see stack.ts) and
// `openKommo`, which puts the widget on a Kommo-like page of the account's own origin.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { test as base, type Page } from "@playwright/test";
import { projectRoot } from "./environment";
import type { PageOptions } from "./server";
import { startStack, type Stack, type Tenant } from "./stack";

export const SCREENSHOT_DIR = path.join(projectRoot, ".data", "test-results", "screenshots");

export type OpenOptions = Omit<PageOptions, "userId"> & { userId?: number };

/**
 * Open the widget as Kommo would show it. The page must come from the account's Kommo origin
 * (https://{subdomain}.kommo.com), because the backend answers only that origin; Playwright serves
 * the document for that address from the harness server, then stops intercepting, so that every
 * request the widget makes afterwards (CORS preflights included) really reaches the backend.
 */
export async function openKommo(page: Page, tenant: Tenant, options: OpenOptions): Promise<void> {
  const where =
    options.area === "lcard"
      ? `/leads/detail/${options.leadId ?? 0}`
      : options.area === "settings"
        ? "/settings/widgets/"
        : options.area === "digital_pipeline"
          ? "/leads/pipeline/"
          : "/settings/widgets/klaviyo_sync/";
  const address = `${tenant.harness.kommoOrigin}${where}`;
  const pageUrl = tenant.harness.pageUrl({ ...options, userId: options.userId ?? tenant.adminUserId });
  await page.route(address, async (route) => route.fulfill({ response: await route.fetch({ url: pageUrl }) }));
  await page.goto(address);
  await page.unrouteAll({ behavior: "wait" });
  await page.evaluate(() => (window as unknown as { __startKommo: () => boolean }).__startKommo());
}

export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: options.fullPage ?? false, animations: "disabled" });
}

export const test = base.extend<object, { stack: Stack }>({
  stack: [
    async ({}, use) => {
      const stack = await startStack();
      try {
        await use(stack);
      } finally {
        await stack.stop();
      }
    },
    { scope: "worker", timeout: 120_000 },
  ],
});

export { expect } from "@playwright/test";
