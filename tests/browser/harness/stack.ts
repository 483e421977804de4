// Everything a browser test talks to. Once per Playwright worker: a fresh database, the Kommo and
// Klaviyo simulators, and the real backend (web + worker) pointed at them. Per spec file: a tenant,
// i.e. a Kommo account installed through the real OAuth callback, its Klaviyo account, and the
// harness server that shows the widget (as `npm run widget:build` packs it) on that account's page.
import pg from "pg";
import { unzipSync } from "fflate";
import { buildWidgetZip } from "../../../scripts/build-widget";
import { freePort } from "./environment";
import { startKlaviyoSimulator, type KlaviyoSimulator, type SimAccount } from "../../simulators/klaviyo";
import { KommoSimulator } from "../../simulators/kommo";
import { startApp, type AppProcesses } from "./app";
import { createFreshDatabase, type FreshDatabase } from "./database";
import { startHarnessServer, type HarnessServer } from "./server";
import { signWidgetToken } from "./widget-token";

export const CLIENT_ID = "5d0f7c1e-2b8a-4c39-9e61-7a4b2c9d0e13";
export const CLIENT_SECRET = "browser-test-client-secret-000001";

export type SeededPipeline = { id: number; name: string; stages: { id: number; name: string }[] };

/** The processes and simulators, shared by every test of a worker. */
export type Stack = {
  app: AppProcesses;
  kommo: KommoSimulator;
  klaviyo: KlaviyoSimulator;
  sql: <Row extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<Row[]>;
  /** The widget as `npm run widget:build` packs it for this backend. */
  widgetFiles: Record<string, Uint8Array>;
  stop: () => Promise<void>;
};

/**
 * One customer of the product: a Kommo account installed through the real OAuth callback, with its
 * own pipelines, its own Klaviyo account and private key, and its own Kommo page origin. Each spec
 * file makes its own, so files never see each other's settings or data.
 */
export type Tenant = {
  stack: Stack;
  kommoAccountId: number;
  subdomain: string;
  /** Our Account row id. */
  id: string;
  adminUserId: number;
  pipelines: SeededPipeline[];
  klaviyoAccount: SimAccount;
  klaviyoKey: string;
  harness: HarnessServer;
  /** A request to the backend's widget API as the widget makes it (admin's token, the account's origin). */
  widgetApi: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown }>;
  close: () => Promise<void>;
};

async function waitUntil<T>(what: string, probe: () => Promise<T | null | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** `environment`: more settings for the app (e.g. a short KLAVIYO_ACTIVITY_POLL_SECONDS). */
export async function startStack(environment: Record<string, string> = {}): Promise<Stack> {
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopper of stoppers.reverse()) await stopper().catch(() => undefined);
  };
  try {
    const database: FreshDatabase = await createFreshDatabase();
    stoppers.push(database.drop);
    const pool = new pg.Pool({ connectionString: database.url, max: 3 });
    stoppers.push(() => pool.end());

    const klaviyo = await startKlaviyoSimulator({ jobDelayMs: 20 });
    stoppers.push(() => klaviyo.close());

    const port = await freePort();
    const appUrl = `http://127.0.0.1:${port}`;
    const kommo = await KommoSimulator.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `${appUrl}/api/kommo/oauth/callback` });
    stoppers.push(() => kommo.close());

    const app = await startApp(
      {
        DATABASE_URL: database.url,
        KOMMO_API_BASE_URL: kommo.url,
        KLAVIYO_API_BASE_URL: klaviyo.url,
        KOMMO_CLIENT_ID: CLIENT_ID,
        KOMMO_CLIENT_SECRET: CLIENT_SECRET,
        ENCRYPTION_KEY: Buffer.alloc(32, 11).toString("base64"),
        AUTH_SECRET: "browser-test-auth-secret-0123456789abcdef",
        ...environment,
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

let nextTenant = 0;

export async function createTenant(stack: Stack, input: { subdomain: string; klaviyoOrganization: string; timezone?: string; language?: string }): Promise<Tenant> {
  const kommoAccountId = 31_000_000 + ++nextTenant * 17;
  const { subdomain } = input;
  // One time zone for the account, as Kommo's API (datetime_settings) and its pages report it.
  const simAccount = stack.kommo.addAccount({ id: kommoAccountId, subdomain, name: `${input.klaviyoOrganization} (Kommo)`, timezone: input.timezone ?? "America/New_York", language: input.language });
  const pipelines: SeededPipeline[] = [
    stack.kommo.seedPipeline(kommoAccountId, { name: "Sales", stages: ["Qualified", "Proposal sent", "Negotiation"] }),
    stack.kommo.seedPipeline(kommoAccountId, { name: "Partners", stages: ["Contacted", "Onboarding"] }),
  ].map((pipeline) => ({ id: pipeline.id, name: pipeline.name, stages: pipeline.statuses.map((status) => ({ id: status.id, name: status.name })) }));

  // Install the way Kommo does when an admin clicks Install: its server calls our Redirect URI.
  const install = await fetch(
    `${stack.app.url}/api/kommo/oauth/callback?${new URLSearchParams({ code: stack.kommo.issueCode(kommoAccountId), referer: `${subdomain}.kommo.com`, from_widget: "1" })}`,
  );
  if (install.status !== 200 && install.status !== 202) throw new Error(`install answered ${install.status}: ${await install.text()}\n${stack.app.output()}`);
  const row = await waitUntil("the install", async () => (await stack.sql<{ id: string }>(`SELECT id FROM "Account" WHERE "kommoAccountId" = $1 AND status = 'installed'`, [kommoAccountId]))[0]);
  const adminUserId = simAccount.users[0]!.id;

  const klaviyoAccount = stack.klaviyo.createAccount(input.klaviyoOrganization);
  const klaviyoKey = `pk_browser_${subdomain}_full_access`;
  stack.klaviyo.addKey(klaviyoKey, { account: klaviyoAccount });

  const issueToken = (userId: number, mode: "valid" | "expired") =>
    signWidgetToken({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      audience: stack.app.url,
      accountId: kommoAccountId,
      subdomain,
      userId,
      isAdmin: userId === adminUserId,
      expiresInSeconds: mode === "expired" ? -300 : 1800,
    });
  const harness = await startHarnessServer({
    widgetFiles: stack.widgetFiles,
    account: { id: kommoAccountId, subdomain, timezone: input.timezone ?? "America/New_York" },
    clientId: CLIENT_ID,
    issueToken,
  });

  const widgetApi = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.app.url}${path}`, {
      method,
      headers: { "X-Auth-Token": await issueToken(adminUserId, "valid"), Origin: harness.kommoOrigin, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
  };

  return { stack, kommoAccountId, subdomain, id: row.id, adminUserId, pipelines, klaviyoAccount, klaviyoKey, harness, widgetApi, close: harness.close };
}

/** A deal in the simulated Kommo: a lead in `stage` of the tenant's first pipeline with a main contact. */
export function seedDeal(tenant: Tenant, input: { name: string; stage: string; price?: number; firstName: string; lastName: string; email?: string; phone?: string }) {
  const pipeline = tenant.pipelines[0]!;
  const statusId = pipeline.stages.find((stage) => stage.name === input.stage)!.id;
  const contact = tenant.stack.kommo.seedContact(tenant.kommoAccountId, {
    firstName: input.firstName,
    lastName: input.lastName,
    emails: input.email ? [input.email] : [],
    phones: [input.phone ?? "+1 415 555 0134"],
  });
  const lead = tenant.stack.kommo.seedLead(tenant.kommoAccountId, { name: input.name, price: input.price ?? 0, pipelineId: pipeline.id, statusId, contactIds: [contact.id] });
  return { lead, contact };
}

/**
 * Copy the email events Klaviyo holds for `email` into our EmailActivity table, as the activity
 * poller stores them (the pane reads only our database).
 */
export async function storeEmailActivity(tenant: Tenant, email: string): Promise<number> {
  const account = tenant.klaviyoAccount;
  const profile = account.profileByEmail(email);
  if (!profile) throw new Error(`Klaviyo has no profile for ${email}`);
  // Email activity only: the profile also has the deal events our own syncs (and backfill) sent.
  const emailMetrics = new Set(["Received Email", "Opened Email", "Clicked Email", "Bounced Email", "Marked Email as Spam", "Unsubscribed"]);
  const events = account.events.filter((event) => event.profileId === profile.id && emailMetrics.has(account.metrics.get(event.metricId)!.name));
  for (const event of events) {
    const metric = account.metrics.get(event.metricId)!;
    const properties = event.properties as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === "string" && value ? value : null);
    await tenant.stack.sql(
      `INSERT INTO "EmailActivity" ("id", "accountId", "klaviyoEventId", "klaviyoProfileId", "metricName", "occurredAt", "subject", "campaignOrFlow")
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5::timestamptz, $6, $7) ON CONFLICT DO NOTHING`,
      [tenant.id, event.id, profile.id, metric.name, new Date(event.datetime).toISOString(), text(properties.Subject), text(properties["Campaign Name"]) ?? text(properties["$flow"])],
    );
  }
  return events.length;
}
