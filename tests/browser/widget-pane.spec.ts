// The deal-card pane (lcard-1) against the real backend: a deal not in Klaviyo yet, Sync now
// running the real sync job, the email activity of the contact's Klaviyo profile, and the states a
// manager can meet (no email, sync failing, a refused session, a new card), in English and
// Spanish, light and dark.
import { expect, openKommo, screenshot, test } from "./harness/fixtures";
import { createTenant, seedDeal, storeEmailActivity, type Tenant } from "./harness/stack";

test.describe.configure({ mode: "serial" });
test.use({ timezoneId: "Asia/Tokyo" });

let lists: { won: string; proposal: string; all: string };

let tenant: Tenant;

async function connectKlaviyo() {
  const account = tenant.klaviyoAccount;
  lists = {
    proposal: account.createList("Proposal follow-up").id,
    won: account.createList("Customers").id,
    all: account.createList("All CRM deals").id,
  };
  const sales = tenant.pipelines[0]!;
  const saved = await tenant.widgetApi("PUT", "/api/widget/settings", {
    klaviyoApiKey: tenant.klaviyoKey,
    stageLists: [{ pipelineId: sales.id, statusId: sales.stages.find((stage) => stage.name === "Proposal sent")!.id, listId: lists.proposal }],
    allDealsListId: lists.all,
  });
  expect(saved.status).toBe(200);
}

test.beforeAll(async ({ stack }) => {
  tenant = await createTenant(stack, { subdomain: "campgear", klaviyoOrganization: "Camp Gear Co." });
  await connectKlaviyo();
});

test.afterAll(async () => {
  await tenant?.close();
});

let syncedLeadId = 0;
let syncedContactId = 0;
let syncedEmail = "";

test("a deal not in Klaviyo yet: Sync now runs the sync job and the pane shows the profile, its stage and lists", async ({ page }) => {
  syncedEmail = "maria.lopez@example.com";
  const { lead, contact } = seedDeal(tenant, { name: "Tent order for Camp Pines", stage: "Proposal sent", price: 4200, firstName: "Maria", lastName: "Lopez", email: syncedEmail });
  syncedLeadId = lead.id;
  syncedContactId = contact.id;
  await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: lead.id, lead: { name: lead.name, stage: "Proposal sent", price: "$4,200", contact: "Maria Lopez" } });

  const pane = page.locator(".kvsync-pane");
  await expect(pane.locator('[data-kvsync-state="not-synced"]')).toBeVisible();
  await expect(pane).toContainText("Not in Klaviyo yet");
  await screenshot(page, "pane-not-synced-en-light");

  await pane.getByRole("button", { name: "Sync now" }).click();
  await expect(pane.getByRole("button", { name: "Syncing…" })).toBeVisible();
  // The worker picks the job up, Klaviyo gets the profile, and the pane follows.
  await expect(pane.locator('[data-kvsync-state="profile"]')).toBeVisible({ timeout: 30_000 });
  const profile = tenant.klaviyoAccount.profileByEmail(syncedEmail)!;
  expect(profile.properties).toMatchObject({ crm_stage: "Proposal sent", kommo_deal_id: lead.id });
  await expect(pane.locator(".kvsync__email")).toHaveText(syncedEmail);
  await expect(pane.locator("[data-kvsync-profile-link]")).toHaveAttribute("href", `https://www.klaviyo.com/profile/${profile.id}`);
  await expect(pane.locator("[data-kvsync-stage-name]")).toHaveText("Proposal sent");
  await expect(pane.locator("[data-kvsync-lists] .kvsync__chip")).toHaveText(["Proposal follow-up", "All CRM deals"]);
  await expect(pane.locator('[data-kvsync-status="ok"]')).toContainText("Synced");
  await expect(pane.locator("[data-kvsync-activity-empty]")).toBeVisible();
  const rows = await tenant.stack.sql<{ source: string; kind: string; processedAt: Date | null }>(`SELECT source, kind, "processedAt" FROM "InboundEvent" WHERE "leadId" = $1`, [lead.id]);
  expect(rows).toEqual([{ source: "manual", kind: "sync_now", processedAt: expect.any(Date) }]);
  await screenshot(page, "pane-synced-no-activity-en-light");
});

test("the contact's email activity from Klaviyo, newest first, in the account's time zone", async ({ page }) => {
  const account = tenant.klaviyoAccount;
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
  account.seedEvent({ metric: "Received Email", email: syncedEmail, datetime: at(300), properties: { Subject: "Your Camp Pines tent quote", "Campaign Name": "Quotes" } });
  account.seedEvent({ metric: "Opened Email", email: syncedEmail, datetime: at(240), properties: { Subject: "Your Camp Pines tent quote" } });
  account.seedEvent({ metric: "Clicked Email", email: syncedEmail, datetime: at(235), properties: { Subject: "Your Camp Pines tent quote", URL: "https://shop.example/tents" } });
  account.seedEvent({ metric: "Received Email", email: syncedEmail, datetime: at(90), properties: { "Campaign Name": "Spring gear sale" } });
  account.seedEvent({ metric: "Bounced Email", email: syncedEmail, datetime: at(60), properties: { Subject: "Spring gear sale: 20% off" } });
  account.seedEvent({ metric: "Unsubscribed", email: syncedEmail, datetime: at(15), properties: {} });
  expect(await storeEmailActivity(tenant, syncedEmail)).toBe(6);

  await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: syncedLeadId, lead: { name: "Tent order for Camp Pines", stage: "Proposal sent", price: "$4,200", contact: "Maria Lopez" } });
  const events = page.locator("[data-kvsync-activity] li");
  await expect(events).toHaveCount(6);
  await expect(events.locator(".kvsync__event-title strong")).toHaveText(["Unsubscribed", "Bounced", "Received", "Clicked", "Opened", "Received"]);
  await expect(events.nth(1).locator(".kvsync__event-detail")).toHaveText("Spring gear sale: 20% off");
  await expect(events.nth(2).locator(".kvsync__event-detail")).toHaveText("Spring gear sale");
  // Times are shown in the account's zone (America/New_York here), not the browser's (Asia/Tokyo).
  const occurred = new Date((await events.first().locator("time").getAttribute("datetime"))!);
  expect(Date.now() - occurred.getTime()).toBeGreaterThan(14 * 60_000);
  const inZone = (timeZone: string) => new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone }).format(occurred);
  await expect(events.first().locator("time")).toHaveText(inZone("America/New_York"));
  expect(inZone("America/New_York")).not.toBe(inZone("Asia/Tokyo"));
  // Read from Klaviyo as the pane opened, and it says so.
  await expect(page.locator('[data-kvsync-activity-freshness="live"]')).toHaveText("Updated just now");
  await screenshot(page, "pane-activity-en-light");

  await openKommo(page, tenant, { area: "lcard", lang: "es", theme: "dark", leadId: syncedLeadId, lead: { name: "Pedido de carpas Camp Pines", stage: "Propuesta enviada", price: "4.200 $", contact: "Maria Lopez" } });
  await expect(page.locator("[data-kvsync-activity] li .kvsync__event-title strong")).toHaveText(["Baja", "Rebotado", "Recibido", "Clic", "Abierto", "Recibido"]);
  await expect(page.locator(".kvsync-pane")).toContainText("Abrir en Klaviyo");
  await expect(page.locator(".kvsync-pane")).toHaveClass(/kvsync--dark/);
  await screenshot(page, "pane-activity-es-dark");
});

test("the contact's email consent as Klaviyo reported it, and whether Klaviyo can email them", async ({ page }) => {
  await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: syncedLeadId, lead: { name: "Tent order for Camp Pines", stage: "Proposal sent", price: "$4,200", contact: "Maria Lopez" } });
  const consent = page.locator(".kvsync-pane [data-kvsync-consent]");
  await expect(consent).toHaveText("Not reported by Klaviyo yet");
  // What the activity poller records when Klaviyo reports her unsubscribe.
  await tenant.stack.sql(
    `INSERT INTO "ConsentContact" ("id", "accountId", "contactId", "email", "status", "statusAt", "canReceiveEmail", "updatedAt")
     VALUES (gen_random_uuid(), $1, $2, $3, 'unsubscribed', now(), false, now())`,
    [tenant.id, syncedContactId, syncedEmail],
  );
  await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: syncedLeadId, lead: { name: "Tent order for Camp Pines", stage: "Proposal sent", price: "$4,200", contact: "Maria Lopez" } });
  await expect(consent.locator("[data-kvsync-consent-status]")).toHaveText("Unsubscribed");
  await expect(consent).toContainText("Klaviyo cannot email this contact");
  await screenshot(page, "pane-consent-en-light");

  await openKommo(page, tenant, { area: "lcard", lang: "es", theme: "dark", leadId: syncedLeadId, lead: { name: "Pedido de carpas Camp Pines", stage: "Propuesta enviada", price: "4.200 $", contact: "Maria Lopez" } });
  await expect(page.locator(".kvsync-pane dt", { hasText: "Consentimiento de email" })).toBeVisible();
  await expect(consent.locator("[data-kvsync-consent-status]")).toHaveText("Dado de baja");
  await expect(consent).toContainText("Klaviyo no puede enviar emails a este contacto");
  await screenshot(page, "pane-consent-es-dark");
});

test("a contact without email: the pane says so in plain words after Sync now", async ({ page }) => {
  const { lead } = seedDeal(tenant, { name: "Kayak rental", stage: "Qualified", firstName: "Tom", lastName: "Baker" });
  await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: lead.id, lead: { name: lead.name, stage: "Qualified", price: "$0", contact: "Tom Baker" } });
  await page.getByRole("button", { name: "Sync now" }).click();
  await expect(page.locator('[data-kvsync-state="no-email"]')).toBeVisible({ timeout: 30_000 });
  await expect(page.locator(".kvsync-pane")).toContainText("The deal's main contact has no email address");
  await screenshot(page, "pane-no-email-en-light");
});

test("a sync that fails: the last error in plain words, in the user's language", async ({ page }) => {
  tenant.stack.klaviyo.removeKey(tenant.klaviyoKey);
  try {
    await openKommo(page, tenant, { area: "lcard", lang: "es", theme: "light", leadId: syncedLeadId, lead: { name: "Pedido de carpas Camp Pines", stage: "Propuesta enviada", price: "4.200 $", contact: "Maria Lopez" } });
    await page.getByRole("button", { name: "Sincronizar ahora" }).click();
    const status = page.locator('[data-kvsync-status="failed"]');
    await expect(status).toBeVisible({ timeout: 30_000 });
    await expect(status).toContainText("La sincronización falló");
    await expect(status.locator("[data-kvsync-problem]")).toHaveText("Klaviyo rechazó la clave de la API. Un administrador debe ingresar una clave nueva en la configuración del widget.");
    await screenshot(page, "pane-sync-failed-es-light");
  } finally {
    tenant.stack.klaviyo.addKey(tenant.klaviyoKey, { account: tenant.klaviyoAccount });
  }
});

test("an answer from Klaviyo that cannot be read is shown as final, not as retried automatically", async ({ page }) => {
  const email = "li.wei@example.com";
  const { lead } = seedDeal(tenant, { name: "Sleeping bags for Ridge Camp", stage: "Qualified", price: 900, firstName: "Li", lastName: "Wei", email });
  // A 200 whose body is not JSON: the backend records klaviyo_unexpected_response and does not retry it.
  tenant.stack.klaviyo.faults.failNext(1, { kind: "html200" }, { operation: "create_or_update_profile" });
  try {
    await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: lead.id, lead: { name: lead.name, stage: "Qualified", price: "$900", contact: "Li Wei" } });
    await page.getByRole("button", { name: "Sync now" }).click();
    const pane = page.locator(".kvsync-pane");
    await expect(pane.locator('[data-kvsync-state="not-synced"]')).toContainText("The last sync did not finish.", { timeout: 30_000 });
    await expect(pane).not.toContainText("retried automatically");
    const [row] = await tenant.stack.sql<{ status: string; errorCode: string }>(`SELECT status, "errorCode" FROM "SyncLog" WHERE "leadId" = $1 ORDER BY "createdAt" DESC LIMIT 1`, [lead.id]);
    expect(row).toEqual({ status: "failed", errorCode: "klaviyo_unexpected_response" });
    await screenshot(page, "pane-sync-final-en-light");
  } finally {
    tenant.stack.klaviyo.faults.clear();
  }
});

test("loading, a refused session and a new card are designed states", async ({ page }) => {
  await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "dark", leadId: syncedLeadId, tokenDelayMs: 2500, lead: { name: "Tent order for Camp Pines", stage: "Proposal sent", price: "$4,200", contact: "Maria Lopez" } });
  await expect(page.locator('[data-kvsync-state="loading"]')).toBeVisible();
  await screenshot(page, "pane-loading-en-dark");
  await expect(page.locator('[data-kvsync-state="profile"]')).toBeVisible();

  await openKommo(page, tenant, { area: "lcard", lang: "pt", theme: "light", leadId: syncedLeadId, token: "expired", lead: { name: "Pedido de barracas", stage: "Proposta enviada", price: "R$ 4.200", contact: "Maria Lopez" } });
  const error = page.locator('[data-kvsync-state="error"]');
  await expect(error).toBeVisible();
  await expect(error).toContainText("Sua sessão expirou. Recarregue a página e tente novamente.");
  await screenshot(page, "pane-error-pt-light");
  await expect(error.getByRole("button", { name: "Tentar novamente" })).toBeVisible();

  await openKommo(page, tenant, { area: "lcard", lang: "en", theme: "light", leadId: 0, lead: { name: "New deal", stage: "Incoming leads", price: "", contact: "" } });
  await expect(page.locator(".kvsync-pane")).toContainText("Save the deal first");
});
