// The settings panel in Kommo's settings modal, against the real backend: a key Klaviyo rejects
// (the 422 shown inline, nothing stored), a key it accepts (then shown only as its hint with the
// Klaviyo account name), every pipeline stage mapped to a list, events and notes toggled, saved and
// read back; Spanish errors and the dark theme.
import { expect, openKommo, screenshot, test } from "./harness/fixtures";
import { createTenant, type Tenant } from "./harness/stack";
import { ALL_SCOPES } from "../simulators/klaviyo";

test.describe.configure({ mode: "serial" });

let tenant: Tenant;

test.beforeAll(async ({ stack }) => {
  tenant = await createTenant(stack, { subdomain: "acmeoutdoor", klaviyoOrganization: "Acme Outdoor Store" });
});

test.afterAll(async () => {
  await tenant?.close();
});

type StoredAccount = { klaviyoApiKeyEnc: string | null; klaviyoKeyHint: string | null; klaviyoAccountName: string | null; settings: Record<string, unknown> };

test("connect Klaviyo: a rejected key is explained inline, an accepted one shows as its hint and account", async ({ page }) => {
  const readAccount = async () =>
    (await tenant.stack.sql<StoredAccount>(`SELECT "klaviyoApiKeyEnc", "klaviyoKeyHint", "klaviyoAccountName", settings FROM "Account" WHERE id = $1`, [tenant.id]))[0]!;
  const account = tenant.klaviyoAccount;
  account.createList("Warm leads");
  account.createList("Proposal follow-up");
  account.createList("Customers");
  account.createList("All CRM deals");
  account.createList("Partners onboarding", "double_opt_in");

  await openKommo(page, tenant, { area: "settings", lang: "en", theme: "light" });
  const panel = page.locator(".kvsync-settings");
  await expect(panel.locator('[data-kvsync-section="key"]')).toContainText("Not connected yet");
  // Without Klaviyo there is nothing to pick from: the list pickers wait.
  await expect(panel.locator("[data-kvsync-stage]").first()).toBeDisabled();
  await expect(panel.locator("[data-kvsync-stage]")).toHaveCount(tenant.pipelines.reduce((count, pipeline) => count + pipeline.stages.length, 0));
  await screenshot(page, "settings-not-connected-en-light", { fullPage: true });

  // Not even shaped like a private key: refused before any request.
  await panel.locator("[data-kvsync-key]").fill("6XyZab");
  await panel.getByRole("button", { name: "Save" }).click();
  await expect(panel.locator("[data-kvsync-key-error]")).toHaveText("A Klaviyo private key starts with pk_ followed by at least 10 letters or digits.");

  // Shaped right, but Klaviyo does not know it: the backend answers 422 and stores nothing.
  await panel.locator("[data-kvsync-key]").fill("pk_not_a_real_key_000000");
  const rejected = page.waitForResponse((response) => response.url().endsWith("/api/widget/settings") && response.request().method() === "PUT");
  await panel.getByRole("button", { name: "Save" }).click();
  expect((await rejected).status()).toBe(422);
  await expect(panel.locator("[data-kvsync-key-error]")).toHaveText("Klaviyo did not accept this key. Copy the private API key again from Klaviyo → Settings → API keys.");
  await expect(panel.locator("[data-kvsync-footer]")).toHaveText("Nothing was saved.");
  await screenshot(page, "settings-key-rejected-en-light");
  expect(await readAccount()).toMatchObject({ klaviyoApiKeyEnc: null, klaviyoKeyHint: null });

  await panel.locator("[data-kvsync-key]").fill(tenant.klaviyoKey);
  await panel.getByRole("button", { name: "Save" }).click();
  const connection = panel.locator("[data-kvsync-connection]");
  await expect(connection).toContainText("Connected to Acme Outdoor Store");
  await expect(connection).toContainText(`Key pk_…${tenant.klaviyoKey.slice(-4)}`);
  await expect(panel.locator("[data-kvsync-footer]")).toHaveText("Settings saved");
  // The key itself never comes back to the page.
  expect(await page.content()).not.toContain(tenant.klaviyoKey);
  const stored = await readAccount();
  expect(stored.klaviyoApiKeyEnc).toBeTruthy();
  expect(stored.klaviyoApiKeyEnc).not.toContain(tenant.klaviyoKey);
});

test("map every stage to a list, pick events and notes, save, and find it all again", async ({ page }) => {
  await openKommo(page, tenant, { area: "settings", lang: "en", theme: "light" });
  const panel = page.locator(".kvsync-settings");
  const [sales, partners] = tenant.pipelines;
  const stageSelect = (pipelineId: number, stageName: string, pipeline = sales!) =>
    panel.locator(`[data-kvsync-stage="${pipelineId}:${pipeline.stages.find((stage) => stage.name === stageName)!.id}"]`);

  await expect(stageSelect(sales!.id, "Qualified")).toBeEnabled();
  // Klaviyo's lists, paged through by the backend, sorted by name, with double opt-in marked.
  await expect(stageSelect(sales!.id, "Qualified").locator("option")).toHaveText([
    "No list",
    "All CRM deals",
    "Customers",
    "Partners onboarding (double opt-in)",
    "Proposal follow-up",
    "Warm leads",
  ]);
  await stageSelect(sales!.id, "Qualified").selectOption({ label: "Warm leads" });
  await stageSelect(sales!.id, "Proposal sent").selectOption({ label: "Proposal follow-up" });
  await stageSelect(sales!.id, "Closed - won").selectOption({ label: "Customers" });
  await stageSelect(partners!.id, "Onboarding", partners).selectOption({ label: "Partners onboarding (double opt-in)" });
  await panel.locator("[data-kvsync-all-deals]").selectOption({ label: "All CRM deals" });
  await panel.locator("label[for=kvsync-remove-previous]").click();

  const lost = panel.locator('[data-kvsync-event="dealLost"]');
  await lost.locator("label.kvsync__toggle").click();
  await expect(lost.locator("[data-kvsync-event-name]")).toBeDisabled();
  const stageChanged = panel.locator('[data-kvsync-event="stageChanged"] [data-kvsync-event-name]');
  await stageChanged.fill("");
  await panel.getByRole("button", { name: "Save" }).click();
  await expect(panel.locator('[data-kvsync-event="stageChanged"] [data-kvsync-event-error]')).toHaveText("Enter a name, or switch the event off.");
  await stageChanged.fill("Kommo Stage Changed");
  await panel.locator("label[for=kvsync-notes]").click();
  await panel.getByRole("button", { name: "Save" }).click();
  await expect(panel.locator("[data-kvsync-footer]")).toHaveText("Settings saved");

  const lists = Object.fromEntries([...tenant.klaviyoAccount.lists.values()].map((list) => [list.name, list.id]));
  const stageId = (name: string, pipeline = sales!) => pipeline.stages.find((stage) => stage.name === name)!.id;
  const saved = await tenant.widgetApi("GET", "/api/widget/settings");
  expect(saved).toMatchObject({
    status: 200,
    body: {
      allDealsListId: lists["All CRM deals"],
      removeFromPreviousList: false,
      activityNotes: false,
      events: { dealCreated: "Deal Created", stageChanged: "Kommo Stage Changed", dealWon: "Deal Won", dealLost: null },
      klaviyo: { connected: true, keyHint: `pk_…${tenant.klaviyoKey.slice(-4)}`, accountName: "Acme Outdoor Store", activityMode: "polling", activityPollSeconds: 60 },
    },
  });
  expect((saved.body as { stageLists: unknown[] }).stageLists).toEqual(
    expect.arrayContaining([
      { pipelineId: sales!.id, statusId: stageId("Qualified"), listId: lists["Warm leads"] },
      { pipelineId: sales!.id, statusId: stageId("Proposal sent"), listId: lists["Proposal follow-up"] },
      { pipelineId: sales!.id, statusId: 142, listId: lists["Customers"] },
      { pipelineId: partners!.id, statusId: stageId("Onboarding", partners), listId: lists["Partners onboarding"] },
    ]),
  );
  expect((saved.body as { stageLists: unknown[] }).stageLists).toHaveLength(4);

  // Opened again, the panel shows what was saved.
  await openKommo(page, tenant, { area: "settings", lang: "en", theme: "light" });
  await expect(stageSelect(sales!.id, "Proposal sent")).toHaveValue(lists["Proposal follow-up"]!);
  await expect(panel.locator("[data-kvsync-remove-previous]")).not.toBeChecked();
  await expect(panel.locator('[data-kvsync-event="dealLost"] [data-kvsync-event-on]')).not.toBeChecked();
  await expect(panel.locator('[data-kvsync-event="stageChanged"] [data-kvsync-event-name]')).toHaveValue("Kommo Stage Changed");
  // The poll interval as the server runs it (KLAVIYO_ACTIVITY_POLL_SECONDS, 60 by default).
  await expect(panel.locator("[data-kvsync-activity-mode]")).toContainText("read from Klaviyo every 1 minute");
  await screenshot(page, "settings-connected-en-light", { fullPage: true });
});

test("in Spanish and the dark theme: a replacement key without the needed permission is refused in Spanish", async ({ page }) => {
  const limitedKey = "pk_browser_test_no_scopes_01";
  tenant.stack.klaviyo.addKey(limitedKey, { scopes: ["lists:read"], account: tenant.klaviyoAccount });
  await openKommo(page, tenant, { area: "settings", lang: "es", theme: "dark" });
  const panel = page.locator(".kvsync-settings");
  await expect(panel).toHaveClass(/kvsync--dark/);
  await expect(panel.locator("[data-kvsync-connection]")).toContainText("Conectado a Acme Outdoor Store");
  await screenshot(page, "settings-connected-es-dark", { fullPage: true });

  await panel.getByRole("button", { name: "Cambiar clave" }).click();
  await panel.locator("[data-kvsync-key]").fill(limitedKey);
  await panel.getByRole("button", { name: "Guardar" }).click();
  await expect(panel.locator("[data-kvsync-key-error]")).toHaveText(
    "A esta clave le falta un permiso. Crea una clave privada con acceso de lectura a Cuentas y acceso completo a Perfiles, Listas, Eventos y Métricas.",
  );
  await expect(panel.locator("[data-kvsync-footer]")).toHaveText("No se guardó nada.");
  await screenshot(page, "settings-key-missing-scope-es-dark");
  // The account keeps the key it had.
  const saved = await tenant.widgetApi("GET", "/api/widget/settings");
  expect(saved.body).toMatchObject({ klaviyo: { keyHint: `pk_…${tenant.klaviyoKey.slice(-4)}` } });

  await panel.getByRole("button", { name: "Cancelar" }).click();
  await expect(panel.locator("[data-kvsync-connection]")).toBeVisible();
});

test("the Consent section: status field, an opt-in checkbox and its list; a key that may not subscribe keeps opt-in off", async ({ page }) => {
  const kommo = tenant.stack.kommo;
  const optIn = kommo.addContactField(tenant.kommoAccountId, { name: "Newsletter opt-in", type: "checkbox" });
  kommo.addContactField(tenant.kommoAccountId, { name: "Nickname", type: "text" });
  const newsletter = tenant.klaviyoAccount.createList("Newsletter", "double_opt_in");

  await openKommo(page, tenant, { area: "settings", lang: "en", theme: "light" });
  const panel = page.locator(".kvsync-settings");
  const section = panel.locator('[data-kvsync-section="consent"]');
  await expect(section.locator(".kvsync__section-title")).toHaveText("Email consent");
  await expect(section).toContainText("subscribes nobody on its own. Only the opt-in box below does.");
  // Only checkbox fields are offered.
  await expect(section.locator("[data-kvsync-consent-field] option")).toHaveText(["Off", "Newsletter opt-in"]);
  await section.locator("label[for=kvsync-consent-status]").click();
  await section.locator("[data-kvsync-consent-field]").selectOption(String(optIn.id));
  await section.locator("[data-kvsync-consent-list]").selectOption(newsletter.id);
  await screenshot(page, "settings-consent-en-light");
  await panel.getByRole("button", { name: "Save" }).click();
  await expect(panel.locator("[data-kvsync-footer]")).toHaveText("Settings saved");
  const saved = await tenant.widgetApi("GET", "/api/widget/settings");
  expect((saved.body as { consent: unknown }).consent).toEqual({ statusField: true, optInFieldId: optIn.id, optInListId: newsletter.id });
  expect(kommo.contactFields(tenant.kommoAccountId).filter((field) => field.code === "KLAVIYO_EMAIL_STATUS")).toHaveLength(1);

  // Opt-in off, then a key without subscriptions:write: turning opt-in on again is refused, in Spanish.
  expect((await tenant.widgetApi("PUT", "/api/widget/settings", { consent: { optInFieldId: null } })).status).toBe(200);
  const noConsentKey = "pk_browser_test_no_subscribe_1";
  tenant.stack.klaviyo.addKey(noConsentKey, { scopes: ALL_SCOPES.filter((scope) => scope !== "subscriptions:write"), account: tenant.klaviyoAccount });
  await openKommo(page, tenant, { area: "settings", lang: "es", theme: "dark" });
  await expect(section.locator(".kvsync__section-title")).toHaveText("Consentimiento de email");
  await expect(section.locator("[data-kvsync-consent-status]")).toBeChecked();
  await panel.getByRole("button", { name: "Cambiar clave" }).click();
  await panel.locator("[data-kvsync-key]").fill(noConsentKey);
  await section.locator("[data-kvsync-consent-field]").selectOption(String(optIn.id));
  await panel.getByRole("button", { name: "Guardar" }).click();
  await expect(section.locator("[data-kvsync-consent-error]")).toContainText("Esta clave de Klaviyo no puede cambiar el consentimiento");
  await screenshot(page, "settings-consent-scope-es-dark", { fullPage: true });
  const after = await tenant.widgetApi("GET", "/api/widget/settings");
  expect(after.body).toMatchObject({ consent: { optInFieldId: null }, klaviyo: { keyHint: `pk_…${tenant.klaviyoKey.slice(-4)}` } });
});

test("the advanced settings page shows the same panel, and Kommo's own Save saves it", async ({ page }) => {
  await openKommo(page, tenant, { area: "advanced_settings", lang: "pt", theme: "light" });
  const panel = page.locator(".kvsync-settings--page");
  await expect(panel.locator("[data-kvsync-connection]")).toContainText("Conectado a Acme Outdoor Store");
  await panel.locator("label[for=kvsync-notes]").click();
  await page.evaluate(() => (window as unknown as { __kommoSave: () => Promise<unknown> }).__kommoSave());
  await expect(panel.locator("[data-kvsync-footer]")).toHaveText("Configurações salvas");
  expect((await tenant.widgetApi("GET", "/api/widget/settings")).body).toMatchObject({ activityNotes: true });
});
