// What the dashboard's browser tests add to the harness: the backend started with an operator
// (OPERATOR_KOMMO_USERS) and a metrics token, "Sign in with Kommo" through the simulated consent page,
// deal changes delivered as Kommo's webhooks, and waiting for the worker's sync outcome.
import { expect, test as base, type Page } from "@playwright/test";
import pg from "pg";
import { unzipSync } from "fflate";
import { buildWidgetZip } from "../../../scripts/build-widget";
import { startKlaviyoSimulator } from "../../simulators/klaviyo";
import { KommoSimulator } from "../../simulators/kommo";
import type { LeadAction } from "../../simulators/kommo/webhooks";
import { startApp } from "./app";
import { createFreshDatabase } from "./database";
import { freePort } from "./environment";
import { CLIENT_ID, CLIENT_SECRET, type Stack, type Tenant } from "./stack";

export { screenshot } from "./fixtures";

/** A Kommo account of the people who run the backend, without the integration; its first user is the operator. */
export const OPERATOR_ACCOUNT = { id: 39_000_001, subdomain: "syncops" };
export const METRICS_TOKEN = "browser-test-metrics-token-0123456789";

/** startStack (stack.ts) with the dashboard's configuration, and the operator's Kommo account. */
export async function startDashboardStack(): Promise<Stack> {
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopper of stoppers.reverse()) await stopper().catch(() => undefined);
  };
  try {
    const database = await createFreshDatabase("kss_dashboard");
    stoppers.push(database.drop);
    const pool = new pg.Pool({ connectionString: database.url, max: 3 });
    stoppers.push(() => pool.end());
    const klaviyo = await startKlaviyoSimulator({ jobDelayMs: 20 });
    stoppers.push(() => klaviyo.close());
    const port = await freePort();
    const kommo = await KommoSimulator.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `http://127.0.0.1:${port}/api/kommo/oauth/callback` });
    stoppers.push(() => kommo.close());
    const operators = kommo.addAccount({ id: OPERATOR_ACCOUNT.id, subdomain: OPERATOR_ACCOUNT.subdomain, name: "Sync Ops" });
    const app = await startApp(
      {
        DATABASE_URL: database.url,
        KOMMO_API_BASE_URL: kommo.url,
        KLAVIYO_API_BASE_URL: klaviyo.url,
        KOMMO_CLIENT_ID: CLIENT_ID,
        KOMMO_CLIENT_SECRET: CLIENT_SECRET,
        ENCRYPTION_KEY: Buffer.alloc(32, 13).toString("base64"),
        AUTH_SECRET: "dashboard-browser-test-auth-secret-0123456789",
        OPERATOR_KOMMO_USERS: `${OPERATOR_ACCOUNT.id}:${operators.users[0]!.id}`,
        METRICS_TOKEN,
      },
      port,
    );
    stoppers.push(app.stop);
    const sql = async <Row extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await pool.query<Row>(text, values)).rows;
    return { app, kommo, klaviyo, sql, widgetFiles: unzipSync(await buildWidgetZip({ appUrl: app.url })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Playwright's test with the dashboard stack, started once per worker. */
export const test = base.extend<object, { stack: Stack }>({
  stack: [
    async ({}, use) => {
      const stack = await startDashboardStack();
      try {
        await use(stack);
      } finally {
        await stack.stop();
      }
    },
    { scope: "worker", timeout: 120_000 },
  ],
});

export { expect };

/**
 * "Sign in with Kommo" as a person does it: the dashboard's button, Kommo's consent page (logged
 * in to Kommo as `userId` of `kommoAccountId`, default its first admin), "Allow", and back.
 */
export async function signInWithKommo(page: Page, stack: Stack, kommoAccountId: number, options: { userId?: number; path?: string } = {}) {
  stack.kommo.logIn(kommoAccountId, options.userId);
  await page.goto(`${stack.app.url}${options.path ?? "/dashboard"}`);
  await expect(page).toHaveURL(/\/dashboard\/sign-in/);
  await page.getByRole("button", { name: "Sign in with Kommo" }).click();
  await expect(page.getByRole("heading", { name: "Allow access to your Kommo account?" })).toBeVisible();
  await page.getByRole("button", { name: "Allow" }).click();
}

/** Kommo's CRM webhook for a change of this lead, delivered to the account's webhook URL. */
export async function deliverLeadChange(tenant: Tenant, leadId: number, action: LeadAction, oldStatusId?: number) {
  const [account] = await tenant.stack.sql<{ hookKey: string }>(`SELECT "hookKey" FROM "Account" WHERE id = $1`, [tenant.id]);
  const response = await fetch(`${tenant.stack.app.url}/api/kommo/webhooks/${account!.hookKey}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: tenant.stack.kommo.leadWebhookBody(tenant.kommoAccountId, leadId, action, oldStatusId === undefined ? {} : { oldStatusId }),
  });
  expect(response.status).toBe(200);
}

/** Wait until the worker has written a sync-log row of this outcome for the lead. */
export async function waitForSync(tenant: Tenant, leadId: number, status: "ok" | "failed", after = new Date(0)) {
  await expect
    .poll(
      async () =>
        (
          await tenant.stack.sql<{ count: number }>(
            `SELECT count(*)::int AS count FROM "SyncLog" WHERE "accountId" = $1 AND "leadId" = $2 AND status = $3 AND "createdAt" > $4::timestamptz`,
            [tenant.id, leadId, status, after.toISOString()],
          )
        )[0]!.count,
      { timeout: 30_000, message: `a ${status} sync of lead ${leadId}` },
    )
    .toBeGreaterThan(0);
}
