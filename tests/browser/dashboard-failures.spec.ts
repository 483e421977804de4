// The dashboard when a deal cannot reach Klaviyo: an admin signs in with Kommo after their Klaviyo
// key was revoked, sees on the first screen what is wrong, how to fix it and how many deals it
// affects; fixes the key in the widget settings; replays; and sees the deals synced.
import { createTenant, seedDeal, type Tenant } from "./harness/stack";
import { deliverLeadChange, expect, screenshot, signInWithKommo, test, waitForSync } from "./harness/dashboard";

test.describe.configure({ mode: "serial" });

let tenant: Tenant;
let customersList: string;
const deals: { id: number; email: string }[] = [];

test.beforeAll(async ({ stack }) => {
  tenant = await createTenant(stack, { subdomain: "acmeoutdoor", klaviyoOrganization: "Acme Outdoor Store" });
  customersList = tenant.klaviyoAccount.createList("Customers").id;
  const sales = tenant.pipelines[0]!;
  const saved = await tenant.widgetApi("PUT", "/api/widget/settings", {
    klaviyoApiKey: tenant.klaviyoKey,
    stageLists: [{ pipelineId: sales.id, statusId: 142, listId: customersList }],
  });
  expect(saved.status).toBe(200);

  // Two deals that reached Klaviyo while the key worked.
  for (const [name, first, last] of [
    ["Tent order for Camp Pines", "Maria", "Lopez"],
    ["Kayak rental fleet", "Tom", "Becker"],
  ] as const) {
    const email = `${first.toLowerCase()}.${last.toLowerCase()}@example.com`;
    const { lead } = seedDeal(tenant, { name, stage: "Proposal sent", price: 4200, firstName: first, lastName: last, email });
    await deliverLeadChange(tenant, lead.id, "add");
    await waitForSync(tenant, lead.id, "ok");
    deals.push({ id: lead.id, email });
  }
});

test.afterAll(async () => {
  await tenant?.close();
});

test("after the Klaviyo key is revoked, the first screen says what is wrong, how to fix it, and how many deals it affects", async ({ page, stack }) => {
  // Someone deletes the key in Klaviyo; then both deals are won in Kommo.
  stack.klaviyo.removeKey(tenant.klaviyoKey);
  const failedAt = new Date(Date.now() - 1000);
  for (const deal of deals) {
    const before = stack.kommo.account(tenant.kommoAccountId).leads.get(deal.id)!.status_id;
    stack.kommo.updateLead(tenant.kommoAccountId, deal.id, { status_id: 142 });
    await deliverLeadChange(tenant, deal.id, "status", before);
    await waitForSync(tenant, deal.id, "failed", failedAt);
  }

  await signInWithKommo(page, stack, tenant.kommoAccountId);
  // An admin of one account lands on that account's page.
  await expect(page).toHaveURL(new RegExp(`/dashboard/accounts/${tenant.id}$`));
  const hint = `pk_…${tenant.klaviyoKey.slice(-4)}`;
  const banner = page.getByTestId("notice-invalid_key");
  await expect(banner).toBeVisible();
  await expect(banner.getByRole("heading")).toHaveText(`Klaviyo rejects the key ${hint}`);
  await expect(banner).toContainText("2 deals could not be sent to Klaviyo");
  await expect(banner).toContainText("Kommo → Settings → Integrations → Klaviyo Sync");
  await expect(banner.getByRole("link", { name: "Open Kommo settings" })).toHaveAttribute("href", `https://${tenant.subdomain}.kommo.com/settings/widgets/`);
  await expect(page.getByTestId("account-state")).toHaveText("Needs attention");
  await expect(page.getByRole("link", { name: /Failures/ })).toContainText("2");
  // The failed syncs carry Klaviyo's exact refusal, with the key's hint and never the key.
  await expect(page.getByTestId("failures-card").getByTestId("log-error").first()).toContainText(`Klaviyo rejected the API key ${hint}`);
  await expect(page.getByTestId("klaviyo-key")).toContainText(hint);
  expect(await page.content()).not.toContain(tenant.klaviyoKey);
  await screenshot(page, "dashboard-bad-key", { fullPage: true });

  // The deal's own history shows the success, then the failure with its reason.
  await page.getByTestId("failures-card").getByRole("link", { name: `#${deals[0]!.id}` }).click();
  await expect(page.getByTestId("deal-error")).toContainText("Klaviyo rejected the API key");
  await expect(page.getByTestId("deal-history").getByTestId("log-row")).toHaveCount(2);
  await expect(page.getByTestId("deal-history").getByTestId("log-row").nth(0)).toHaveAttribute("data-status", "failed");
  await expect(page.getByTestId("deal-history").getByTestId("log-row").nth(1)).toHaveAttribute("data-status", "ok");
  await screenshot(page, "dashboard-deal-history", { fullPage: true });
});

test("after a new key is entered in Kommo, a replay sends the failed deals and the account is healthy again", async ({ page, stack }) => {
  const newKey = "pk_browser_acmeoutdoor_rotated_key_9z8y";
  stack.klaviyo.addKey(newKey, { account: tenant.klaviyoAccount });
  expect((await tenant.widgetApi("PUT", "/api/widget/settings", { klaviyoApiKey: newKey })).status).toBe(200);

  await signInWithKommo(page, stack, tenant.kommoAccountId);
  const replaced = page.getByTestId("notice-key_replaced");
  await expect(replaced.getByRole("heading")).toHaveText("The Klaviyo key was replaced: replay the 2 deals that failed");
  await expect(page.getByTestId("notice-invalid_key")).toHaveCount(0);
  await screenshot(page, "dashboard-key-replaced", { fullPage: true });

  const replayedAt = new Date(Date.now() - 1000);
  await replaced.getByRole("button", { name: "Replay 2 failed deals" }).click();
  await expect(page.getByTestId("flash")).toContainText("2 deals queued again");
  for (const deal of deals) await waitForSync(tenant, deal.id, "ok", replayedAt);

  await page.reload();
  await expect(page.getByTestId("account-state")).toHaveText("Healthy");
  await expect(page.locator(".d-notice")).toHaveCount(0);
  await expect(page.getByTestId("failures-card")).toContainText("No open failures");
  await expect(page.getByTestId("recent-card").getByTestId("log-row").first()).toHaveAttribute("data-status", "ok");
  // Klaviyo has what Kommo has: both deals won, both contacts in the Customers list.
  for (const deal of deals) {
    const profile = tenant.klaviyoAccount.profileByEmail(deal.email)!;
    expect(profile.properties).toMatchObject({ crm_stage: "Won", kommo_deal_id: deal.id });
  }
  expect(tenant.klaviyoAccount.lists.get(customersList)!.members.size).toBe(2);
  await screenshot(page, "dashboard-healthy", { fullPage: true });

  // The log keeps the story: failures marked as replayed, then the syncs that succeeded.
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Sync log" }).click();
  await page.getByLabel("Outcome").selectOption("failed");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("log-row")).toHaveCount(2);
  await expect(page.getByTestId("log-table")).toContainText("Failed · replayed");
  await screenshot(page, "dashboard-log-filtered", { fullPage: true });
});
