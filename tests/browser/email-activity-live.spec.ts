// Email activity in seconds, against the built app (web + worker) with both simulators: an Opened
// Email event recorded in Klaviyo for a synced contact is in the deal-card pane's answer within
// 5 s without waiting for a poll, and becomes a Kommo note, in the account's language, within two
// poll intervals at KLAVIYO_ACTIVITY_POLL_SECONDS=2.
import { expect, test } from "@playwright/test";
import { createTenant, seedDeal, startStack, type Stack, type Tenant } from "./harness/stack";

const POLL_SECONDS = 2;
let stack: Stack;
let tenant: Tenant;

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  stack = await startStack({ KLAVIYO_ACTIVITY_POLL_SECONDS: String(POLL_SECONDS) });
  tenant = await createTenant(stack, { subdomain: "liveactivity", klaviyoOrganization: "Live Activity Co.", language: "es", timezone: "America/Mexico_City" });
  expect((await tenant.widgetApi("PUT", "/api/widget/settings", { klaviyoApiKey: tenant.klaviyoKey })).status).toBe(200);
});

test.afterAll(async () => {
  await tenant?.close();
  await stack?.stop();
});

type Activity = { activity: { kind: string; subject: string | null }[]; activityFreshness: { live: boolean; readAt: string | null }; profile: { id: string } | null };

async function until<T>(what: string, probe: () => Promise<T | null | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("an Opened Email event reaches the pane in seconds and a Spanish note within two poll intervals", async () => {
  test.setTimeout(120_000);
  const { lead } = seedDeal(tenant, { name: "Propuesta carpas", stage: "Proposal sent", firstName: "Lucía", lastName: "Pérez", email: "lucia@example.com" });
  const activityPath = `/api/widget/leads/${lead.id}/activity`;
  expect((await tenant.widgetApi("POST", `/api/widget/leads/${lead.id}/sync`, {})).status).toBe(202);
  await until("the deal's sync", async () => ((await tenant.widgetApi("GET", activityPath)).body as Activity).profile, 30_000);

  const seededAt = Date.now();
  tenant.klaviyoAccount.seedEvent({ metric: "Opened Email", email: "lucia@example.com", properties: { Subject: "Su propuesta" } });

  // The pane: the event is in its answer within 5 s, read live from Klaviyo.
  const pane = await until(
    "the event in the pane",
    async () => {
      const body = (await tenant.widgetApi("GET", activityPath)).body as Activity;
      return body.activity.some((event) => event.kind === "opened" && event.subject === "Su propuesta") ? body : null;
    },
    5_000,
  );
  expect(Date.now() - seededAt).toBeLessThan(5_000);
  expect(pane.activityFreshness.readAt).not.toBeNull();

  // The note: within two poll intervals (plus the time a loaded machine takes to run a poll).
  const note = await until(
    "the note",
    async () => stack.kommo.account(tenant.kommoAccountId).notes.find((candidate) => String(candidate.params.text).startsWith('Abrió el correo "Su propuesta" — ')),
    2 * POLL_SECONDS * 1000 + 6_000,
  );
  expect(note.entity_id).toBe(lead.id);
  expect(Date.now() - seededAt).toBeLessThan(2 * POLL_SECONDS * 1000 + 6_000);
});
