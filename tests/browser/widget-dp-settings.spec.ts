// The Digital Pipeline action "Send to Klaviyo" in Kommo's action panel, against the real backend:
// the widget's dpSettings replaces Kommo's plain inputs with its form, suggests the Klaviyo account's
// metric names, offers its lists, and fills the hidden connection key with the account's DP token,
// writing every choice back into Kommo's own inputs (which Kommo saves with the action). English and
// Spanish, light and dark.
import { expect, openKommo, screenshot, test } from "./harness/fixtures";
import { createTenant, type Tenant } from "./harness/stack";

test.describe.configure({ mode: "serial" });

let tenant: Tenant;

test.beforeAll(async ({ stack }) => {
  tenant = await createTenant(stack, { subdomain: "acmepipeline", klaviyoOrganization: "Acme Pipeline Store" });
  expect((await tenant.widgetApi("PUT", "/api/widget/settings", { klaviyoApiKey: tenant.klaviyoKey })).status).toBe(200);
  tenant.klaviyoAccount.createList("Demo booked");
  tenant.klaviyoAccount.createList("Customers");
  tenant.klaviyoAccount.metricNamed("Demo Booked");
});

test.afterAll(async () => {
  await tenant?.close();
});

const tokenOfAccount = async () => {
  const answer = await tenant.widgetApi("GET", "/api/widget/digital-pipeline");
  expect(answer.status).toBe(200);
  return (answer.body as { token: string }).token;
};

test("en, light: the form fills Kommo's inputs and sets the hidden token", async ({ page }) => {
  await openKommo(page, tenant, { area: "digital_pipeline", lang: "en", theme: "light" });
  const form = page.locator("[data-kvsync-dp]");
  await expect(form).toContainText("Send to Klaviyo");
  await expect(form.locator("[data-kvsync-dp-status]")).toHaveAttribute("data-kvsync-dp-status", "connected");
  await expect(form.locator("[data-kvsync-dp-status]")).toHaveText("Connected: this action sends to Klaviyo.");

  // The hidden setting holds the account's token; Kommo's own inputs are out of sight.
  const kommoInputs = page.locator("[data-action=send_widget_hook]");
  await expect(kommoInputs.locator("input[name=kss_token]")).toBeHidden();
  await expect(kommoInputs.locator("input[name=event_name]")).toBeHidden();
  await expect(kommoInputs.locator("input[name=kss_token]")).toHaveValue(await tokenOfAccount());

  // Suggestions are the Klaviyo account's metric names.
  await expect(form.locator("[data-kvsync-dp-metrics] option[value='Demo Booked']")).toHaveCount(1);
  await expect(form.locator("[data-kvsync-dp-list] option")).toHaveText(["No list", "Customers", "Demo booked"]);

  await form.locator("[data-kvsync-dp-event]").fill("Demo Booked");
  await expect(kommoInputs.locator("input[name=event_name]")).toHaveValue("Demo Booked");
  await form.locator("[data-kvsync-dp-list]").selectOption({ label: "Demo booked" });
  const listId = [...tenant.klaviyoAccount.lists.values()].find((list) => list.name === "Demo booked")!.id;
  await expect(kommoInputs.locator("input[name=list_id]")).toHaveValue(listId);

  // An empty name is explained and not kept as a name.
  await form.locator("[data-kvsync-dp-event]").fill("");
  await expect(form.locator("[data-kvsync-dp-event-error]")).toHaveText("Enter an event name.");
  await form.locator("[data-kvsync-dp-event]").fill("Demo Booked");
  await expect(form.locator("[data-kvsync-dp-event-error]")).toBeHidden();
  await screenshot(page, "dp-settings-en-light");
});

test("es, dark: the same form in Spanish, with the same token", async ({ page }) => {
  await openKommo(page, tenant, { area: "digital_pipeline", lang: "es", theme: "dark" });
  const form = page.locator("[data-kvsync-dp]");
  await expect(form).toContainText("Enviar a Klaviyo");
  await expect(form).toHaveClass(/kvsync--dark/);
  await expect(form.locator("[data-kvsync-dp-status]")).toHaveText("Conectado: esta acción envía a Klaviyo.");
  const kommoInputs = page.locator("[data-action=send_widget_hook]");
  await expect(kommoInputs.locator("input[name=kss_token]")).toHaveValue(await tokenOfAccount());
  await expect(form.locator("[data-kvsync-dp-list] option").first()).toHaveText("Ninguna lista");
  await form.locator("[data-kvsync-dp-event]").fill("Demo agendada");
  await expect(kommoInputs.locator("input[name=event_name]")).toHaveValue("Demo agendada");
  await screenshot(page, "dp-settings-es-dark");
});
