// Who sees what in the dashboard: an admin of account A sees A and never B (pages and API), a
// Kommo user who is not an admin is turned away, an operator sees every account, the widget's
// advanced settings open the dashboard with a one-minute, single-use link, and the metrics need
// their token.
import { addKommoUser } from "../simulators/kommo";
import { openKommo } from "./harness/fixtures";
import { createTenant, seedDeal, type Tenant } from "./harness/stack";
import { deliverLeadChange, expect, METRICS_TOKEN, OPERATOR_ACCOUNT, screenshot, signInWithKommo, test, waitForSync } from "./harness/dashboard";

test.describe.configure({ mode: "serial" });

let northwind: Tenant;
let bluefjord: Tenant;

test.beforeAll(async ({ stack }) => {
  northwind = await createTenant(stack, { subdomain: "northwind", klaviyoOrganization: "Northwind Traders" });
  bluefjord = await createTenant(stack, { subdomain: "bluefjord", klaviyoOrganization: "Blue Fjord Bikes" });
  // Northwind syncs; Blue Fjord has a deal that fails because no Klaviyo key was ever entered.
  expect((await northwind.widgetApi("PUT", "/api/widget/settings", { klaviyoApiKey: northwind.klaviyoKey })).status).toBe(200);
  const good = seedDeal(northwind, { name: "Espresso machines", stage: "Qualified", price: 900, firstName: "Ana", lastName: "Silva", email: "ana.silva@example.com" });
  await deliverLeadChange(northwind, good.lead.id, "add");
  await waitForSync(northwind, good.lead.id, "ok");
  const waiting = seedDeal(bluefjord, { name: "Fleet of e-bikes", stage: "Negotiation", price: 15_000, firstName: "Ola", lastName: "Nordmann", email: "ola@example.no" });
  await deliverLeadChange(bluefjord, waiting.lead.id, "add");
  await waitForSync(bluefjord, waiting.lead.id, "failed");
});

test.afterAll(async () => {
  await northwind?.close();
  await bluefjord?.close();
});

test("an admin of one account sees that account only, in pages and in the API", async ({ page, stack }) => {
  await signInWithKommo(page, stack, northwind.kommoAccountId);
  await expect(page).toHaveURL(new RegExp(`/dashboard/accounts/${northwind.id}$`));
  await expect(page.getByTestId("viewer")).toContainText("Account admin");
  await expect(page.getByTestId("account-state")).toHaveText("Healthy");

  const other = await page.goto(`${stack.app.url}/dashboard/accounts/${bluefjord.id}`);
  expect(other!.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toBeVisible();
  await expect(page.locator("body")).not.toContainText("Blue Fjord");
  for (const path of ["log", "failures"]) {
    expect((await page.goto(`${stack.app.url}/dashboard/accounts/${bluefjord.id}/${path}`))!.status()).toBe(404);
  }

  // The same session against the JSON API.
  const foreignLog = await page.request.get(`${stack.app.url}/api/dashboard/accounts/${bluefjord.id}/sync-log`);
  expect(foreignLog.status()).toBe(404);
  const ownLog = await page.request.get(`${stack.app.url}/api/dashboard/accounts/${northwind.id}/sync-log`);
  expect(ownLog.status()).toBe(200);
  expect(((await ownLog.json()) as { rows: unknown[] }).rows).toHaveLength(1);
  const listed = (await (await page.request.get(`${stack.app.url}/api/dashboard/accounts`)).json()) as { accounts: { id: string }[] };
  expect(listed.accounts.map((account) => account.id)).toEqual([northwind.id]);

  // Signing out ends the session for pages and API alike.
  await page.goto(`${stack.app.url}/dashboard`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/dashboard\/sign-in/);
  expect((await page.request.get(`${stack.app.url}/api/dashboard/accounts`)).status()).toBe(401);
});

test("a Kommo user who is not an admin is turned away with the reason", async ({ page, stack }) => {
  const manager = addKommoUser(stack.kommo.store, northwind.kommoAccountId, { name: "Sam Sales", email: "sam@northwind.example", isAdmin: false });
  await signInWithKommo(page, stack, northwind.kommoAccountId, { userId: manager.id });
  await expect(page.getByTestId("sign-in-error")).toContainText("Only administrators of the Kommo account can open this dashboard");
  await screenshot(page, "dashboard-sign-in-refused");
  expect((await page.request.get(`${stack.app.url}/api/dashboard/accounts`)).status()).toBe(401);
});

test("declining on Kommo's consent page signs nobody in", async ({ page, stack }) => {
  stack.kommo.logIn(northwind.kommoAccountId);
  await page.goto(`${stack.app.url}/dashboard`);
  await page.getByRole("button", { name: "Sign in with Kommo" }).click();
  await page.getByRole("button", { name: "Decline" }).click();
  await expect(page).toHaveURL(/\/dashboard\/sign-in/);
  await expect(page.getByTestId("sign-in-error")).toBeVisible();
  expect((await page.request.get(`${stack.app.url}/api/dashboard/accounts`)).status()).toBe(401);
});

test("an operator sees every account, the failing one first", async ({ page, stack }) => {
  await signInWithKommo(page, stack, OPERATOR_ACCOUNT.id);
  await expect(page).toHaveURL(new RegExp("/dashboard$"));
  await expect(page.getByTestId("viewer")).toContainText("Operator");
  const rows = page.getByTestId("account-row");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute("data-account", bluefjord.id);
  await expect(rows.nth(0)).toContainText("Klaviyo is not connected");
  await expect(rows.nth(1)).toHaveAttribute("data-account", northwind.id);
  await screenshot(page, "dashboard-operator-overview");
  await rows.nth(0).getByRole("link").first().click();
  await expect(page.getByTestId("notice-not_connected")).toContainText("1 deal changed in Kommo but cannot be sent");
  await screenshot(page, "dashboard-not-connected", { fullPage: true });
});

test("the widget's advanced settings open the dashboard of their account with a one-minute link", async ({ browser, stack }) => {
  const link = await bluefjord.widgetApi("POST", "/api/widget/dashboard-link");
  expect(link.status).toBe(200);
  const { url, expiresInSeconds } = link.body as { url: string; expiresInSeconds: number };
  expect(url).toMatch(new RegExp(`^${stack.app.url}/dashboard/enter\\?ticket=`));
  expect(expiresInSeconds).toBe(60);

  // The admin clicks "Open dashboard" on the widget's advanced settings page in Kommo: a new tab
  // opens on their account, signed in.
  const context = await browser.newContext();
  const kommoPage = await context.newPage();
  await openKommo(kommoPage, bluefjord, { area: "advanced_settings", lang: "en", theme: "light" });
  const tabOpened = context.waitForEvent("page");
  await kommoPage.locator(".kvsync-settings--page").getByRole("button", { name: "Open dashboard" }).click();
  const page = await tabOpened;
  await expect(page).toHaveURL(new RegExp(`/dashboard/accounts/${bluefjord.id}$`));
  await expect(page.getByTestId("viewer")).toContainText("Account admin");
  expect((await page.goto(`${stack.app.url}/dashboard/accounts/${northwind.id}`))!.status()).toBe(404);

  // A user who is not an administrator gets the reason, and no tab stays open.
  const manager = addKommoUser(stack.kommo.store, bluefjord.kommoAccountId, { name: "Kari Sales", email: "kari@bluefjord.example", isAdmin: false });
  const memberPage = await context.newPage();
  await openKommo(memberPage, bluefjord, { area: "advanced_settings", lang: "en", theme: "light", userId: manager.id });
  await memberPage.locator(".kvsync-settings--page").getByRole("button", { name: "Open dashboard" }).click();
  await expect(memberPage.locator("[data-kvsync-dashboard-error]")).toHaveText("Only an account administrator can change these settings.");
  await expect.poll(() => context.pages().length).toBe(3);

  // A link opens the dashboard once: used, it is refused in any other browser.
  const first = await browser.newContext();
  const firstPage = await first.newPage();
  await firstPage.goto(url);
  await expect(firstPage).toHaveURL(new RegExp(`/dashboard/accounts/${bluefjord.id}$`));
  await first.close();
  const stranger = await browser.newContext();
  const replayed = await stranger.newPage();
  await replayed.goto(url);
  await expect(replayed).toHaveURL(/\/dashboard\/sign-in\?error=link_used/);
  await expect(replayed.getByTestId("sign-in-error")).toContainText("This sign-in link was already used");
  expect((await replayed.request.get(`${stack.app.url}/api/dashboard/accounts`)).status()).toBe(401);

  // A forged link is refused and explained, and starts no session.
  const forged = await stranger.newPage();
  await forged.goto(`${stack.app.url}/dashboard/enter?ticket=${url.split("ticket=")[1]!.slice(0, -6)}AAAAAA`);
  await expect(forged).toHaveURL(/\/dashboard\/sign-in\?error=session_expired/);
  await expect(forged.getByTestId("sign-in-error")).toContainText("Your sign-in link has expired");
  expect((await forged.request.get(`${stack.app.url}/api/dashboard/accounts`)).status()).toBe(401);
  await stranger.close();
  await context.close();
});

test("the metrics answer only with their token", async ({ stack }) => {
  expect((await fetch(`${stack.app.url}/api/metrics`)).status).toBe(401);
  expect((await fetch(`${stack.app.url}/api/metrics`, { headers: { Authorization: "Bearer not-the-token-000000000000" } })).status).toBe(401);
  const metrics = await fetch(`${stack.app.url}/api/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(metrics.status).toBe(200);
  const text = await metrics.text();
  const metric = (pattern: string) => Number(new RegExp(`^${pattern} (\\S+)$`, "m").exec(text)?.[1]);
  // The numbers are the database's, whichever process answers.
  const [counts] = await stack.sql<{ failed: number; ok: number; installed: number }>(`
    SELECT (SELECT count(*)::int FROM "SyncLog" WHERE status = 'failed') AS failed,
           (SELECT count(*)::int FROM "SyncLog" WHERE status = 'ok') AS ok,
           (SELECT count(*)::int FROM "Account" WHERE status = 'installed' AND NOT paused) AS installed`);
  expect(metric('kss_sync_runs\\{status="failed",window="24h"\\}')).toBe(counts!.failed);
  expect(metric('kss_sync_runs\\{status="ok",window="24h"\\}')).toBe(counts!.ok);
  expect(metric('kss_accounts\\{status="installed",paused="false"\\}')).toBe(counts!.installed);
  expect(metric("kss_open_failures")).toBeGreaterThanOrEqual(1);
  expect(text).toContain("# HELP kss_queue_jobs");
});
