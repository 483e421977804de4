// Consent both ways against the built app (web and worker processes, the real queue) and both
// simulators: ticking a contact's opt-in box subscribes the email once, with the list and the
// custom source; a redelivered webhook and a contact whose box was never on subscribe nobody;
// unticking unsubscribes once; an unsubscribe in Klaviyo shows on the contact within two poll
// intervals (status field "Unsubscribed", box off) and is not taken for a new change; a later deal
// change calls no subscription endpoint.
import { expect, test } from "@playwright/test";
import { emailMarketing, subscriptionJobs, unsubscribeAsRecipient } from "../simulators/klaviyo";
import { createTenant, startStack, type Stack, type Tenant } from "./harness/stack";

test.describe.configure({ mode: "serial" });

// Polls are chained per account at their own interval (not rounded to the minute): a short one keeps the test short.
const POLL_SECONDS = 5;

let stack: Stack;
let tenant: Tenant;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  stack = await startStack({ KLAVIYO_ACTIVITY_POLL_SECONDS: String(POLL_SECONDS) });
  tenant = await createTenant(stack, { subdomain: "consentco", klaviyoOrganization: "Consent Co." });
});

test.afterAll(async () => {
  await tenant?.close();
  await stack?.stop();
});

async function webhook(body: string) {
  const [account] = await stack.sql<{ hookKey: string }>(`SELECT "hookKey" FROM "Account" WHERE id = $1`, [tenant.id]);
  const response = await fetch(`${stack.app.url}/api/kommo/webhooks/${account!.hookKey}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
  expect(response.status).toBe(200);
}

/** Nothing of the account waiting or running in the queue, and every recorded change applied. */
async function settled() {
  await expect
    .poll(
      async () => {
        const [row] = await stack.sql<{ pending: string }>(
          `SELECT (SELECT count(*) FROM "InboundEvent" WHERE "accountId" = $1 AND "processedAt" IS NULL)
                + (SELECT count(*) FROM pgboss.job WHERE name IN ('sync-lead', 'consent-contact', 'consent-write') AND data->>'accountId' = $1::text AND state IN ('created', 'retry', 'active')) AS pending`,
          [tenant.id],
        );
        return Number(row!.pending);
      },
      { timeout: 30_000 },
    )
    .toBe(0);
}

test("a ticked box subscribes once, an unticked one unsubscribes once, and Klaviyo's unsubscribe comes back to Kommo", async () => {
  test.setTimeout(120_000);
  const kommo = stack.kommo;
  const accountId = tenant.kommoAccountId;
  const store = tenant.klaviyoAccount;
  const optIn = kommo.addContactField(accountId, { name: "Newsletter opt-in", type: "checkbox" });
  const newsletter = store.createList("Newsletter");
  expect((await tenant.widgetApi("PUT", "/api/widget/settings", { klaviyoApiKey: tenant.klaviyoKey })).status).toBe(200);
  const saved = await tenant.widgetApi("PUT", "/api/widget/settings", { consent: { statusField: true, optInFieldId: optIn.id, optInListId: newsletter.id } });
  expect(saved.status).toBe(200);

  const sales = tenant.pipelines[0]!;
  const qualified = sales.stages.find((stage) => stage.name === "Qualified")!.id;
  const ada = kommo.seedContact(accountId, { firstName: "Ada", lastName: "Lovelace", emails: ["ada@consent.example"] });
  const bob = kommo.seedContact(accountId, { firstName: "Bob", lastName: "Stone", emails: ["bob@consent.example"] });
  const adaDeal = kommo.seedLead(accountId, { name: "Ada", pipelineId: sales.id, statusId: qualified, contactIds: [ada.id] });
  const bobDeal = kommo.seedLead(accountId, { name: "Bob", pipelineId: sales.id, statusId: qualified, contactIds: [bob.id] });
  await webhook(kommo.leadWebhookBody(accountId, adaDeal.id, "add"));
  await webhook(kommo.leadWebhookBody(accountId, bobDeal.id, "add"));
  await settled();
  const jobs = subscriptionJobs(store);
  expect(jobs).toEqual([]);

  // The manager ticks Ada's box; Kommo delivers the webhook twice. Bob's contact changes, his box never on.
  kommo.setContactCheckbox(accountId, ada.id, optIn.id, true);
  const ticked = kommo.contactWebhookBody(accountId, ada.id);
  await webhook(ticked);
  await webhook(ticked);
  await webhook(kommo.contactWebhookBody(accountId, bob.id));
  await settled();
  expect(jobs.map((job) => ({ kind: job.kind, emails: job.emails, consent: job.consent, listId: job.listId, customSource: job.customSource }))).toEqual([
    { kind: "subscribe", emails: ["ada@consent.example"], consent: "SUBSCRIBED", listId: newsletter.id, customSource: "Kommo CRM" },
  ]);

  // She withdraws consent on a call: the manager unticks the box.
  kommo.setContactCheckbox(accountId, ada.id, optIn.id, false);
  await webhook(kommo.contactWebhookBody(accountId, ada.id));
  await settled();
  expect(jobs.map((job) => job.kind)).toEqual(["subscribe", "unsubscribe"]);

  // Later she agrees again, then unsubscribes from an email in Klaviyo.
  kommo.setContactCheckbox(accountId, ada.id, optIn.id, true);
  await webhook(kommo.contactWebhookBody(accountId, ada.id));
  await settled();
  expect(jobs.map((job) => job.kind)).toEqual(["subscribe", "unsubscribe", "subscribe"]);
  await expect.poll(() => emailMarketing(store.profileByEmail("ada@consent.example")!).consent).toBe("SUBSCRIBED");
  unsubscribeAsRecipient(store, "ada@consent.example");

  const twoPolls = 2 * POLL_SECONDS * 1000 + 15_000;
  await expect.poll(() => kommo.contactFieldValues(accountId, ada.id, { code: "KLAVIYO_EMAIL_STATUS" }), { timeout: twoPolls, intervals: [1000] }).toEqual(["Unsubscribed"]);
  await expect.poll(() => kommo.contactFieldValues(accountId, ada.id, { id: optIn.id }), { timeout: 30_000 }).toEqual([false]);

  // The webhook Kommo sends for the product's own write, then a deal change: no subscription call.
  await webhook(kommo.contactWebhookBody(accountId, ada.id));
  kommo.updateLead(accountId, adaDeal.id, { price: 900 });
  await webhook(kommo.leadWebhookBody(accountId, adaDeal.id, "update"));
  await settled();
  expect(jobs.map((job) => job.kind)).toEqual(["subscribe", "unsubscribe", "subscribe"]);
  const accepted = stack.klaviyo.requests.filter((request) => request.path.includes("subscription") && request.status === 202);
  expect(accepted).toHaveLength(3);
  // The pane says the same.
  const pane = await tenant.widgetApi("GET", `/api/widget/leads/${adaDeal.id}/activity`);
  expect((pane.body as { consent: unknown }).consent).toEqual({ status: "unsubscribed", canReceiveEmail: false });
});
