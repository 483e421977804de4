// Tenants as they come to the app in production: a Kommo account installs the integration (Kommo
// calls our Redirect URI), its admin pastes a Klaviyo key and maps stages to lists in the widget
// settings, and its sales team works on deals that each have a main contact with an e-mail.
import { randomBytes, randomInt } from "node:crypto";
import { widgetToken } from "../../tests/helpers/widget-token";
import type { SimAccount as KlaviyoStore } from "../../tests/simulators/klaviyo";
import { ALL_SCOPES } from "../../tests/simulators/klaviyo";
import type { AppIdentity } from "./app";
import type { Observer } from "./observer";
import type { Simulators } from "./simulators";

/** Stages a deal moves through, after "Incoming leads"; two of them (and Won) have a Klaviyo list. */
export const STAGE_NAMES = ["Qualified", "Negotiation", "Proposal", "Contract"] as const;

export type Stage = { id: number; name: string };

/** A Kommo account with its pipeline, and the Klaviyo account its deals go to. */
export type SimTenant = {
  kommoAccountId: number;
  subdomain: string;
  /** Where Kommo delivers this account's webhooks. */
  hookUrl: string;
  pipelineId: number;
  incoming: Stage;
  /** The open stages after "Incoming leads", in order. */
  stages: Stage[];
  klaviyo: { apiKey: string; keyHint: string; store: KlaviyoStore; lists: { negotiation: string; contract: string; won: string; all: string } };
};

/** A tenant installed in the app. */
export type Tenant = SimTenant & {
  /** Our Account.id. */
  accountId: string;
  adminUserId: number;
};

export type Deal = { leadId: number; contactId: number; email: string };

export type HarnessContext = { sims: Simulators; identity: AppIdentity; appUrl: string; observer: Observer };

/** What changing deals needs: the Kommo simulator. */
type WithKommo = { sims: Pick<Simulators, "kommo"> };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Klaviyo private key whose last four characters (all a request record keeps) name the tenant. */
export function klaviyoKeyFor(tag: number): { apiKey: string; keyHint: string } {
  const suffix = String(tag % 10_000).padStart(4, "0");
  return { apiKey: `pk_${randomBytes(12).toString("hex")}${suffix}`, keyHint: `…${suffix}` };
}

export async function widgetHeaders(context: HarnessContext, tenant: Pick<Tenant, "kommoAccountId" | "adminUserId" | "subdomain">) {
  const token = await widgetToken({
    accountId: tenant.kommoAccountId,
    userId: tenant.adminUserId,
    subdomain: tenant.subdomain,
    isAdmin: true,
    clientId: context.identity.clientId,
    secret: context.identity.clientSecret,
    audience: new URL(context.appUrl).origin,
  });
  return { "X-Auth-Token": token, Origin: `https://${tenant.subdomain}.kommo.com`, "Content-Type": "application/json" };
}

/**
 * The simulated side of a tenant: a Kommo account with its pipeline (an admin user, no deals yet)
 * and a Klaviyo account with a private key (`tag` makes its hint unique within the run) and lists.
 */
export function seedSimTenant(sims: Simulators, tag: number): Omit<SimTenant, "hookUrl"> {
  const { kommo, klaviyo } = sims;
  const kommoAccountId = randomInt(100_000_000, 2_000_000_000);
  const subdomain = `tenant${tag}x${kommoAccountId}`;
  kommo.addAccount({ id: kommoAccountId, subdomain, name: `Tenant ${tag}` });
  const pipeline = kommo.seedPipeline(kommoAccountId, { name: "Sales", stages: [...STAGE_NAMES], isMain: true });
  const stage = (name: string): Stage => {
    const found = pipeline.statuses.find((status) => status.name === name);
    if (!found) throw new Error(`no stage ${name}`);
    return { id: found.id, name: found.name };
  };
  const { apiKey, keyHint } = klaviyoKeyFor(tag);
  const store = klaviyo.createAccount(`Store of tenant ${tag}`);
  klaviyo.addKey(apiKey, { scopes: ALL_SCOPES, account: store });
  const lists = {
    negotiation: store.createList("Negotiating").id,
    contract: store.createList("Contract sent").id,
    won: store.createList("Customers").id,
    all: store.createList("All CRM deals").id,
  };
  return {
    kommoAccountId,
    subdomain,
    pipelineId: pipeline.id,
    incoming: stage("Incoming leads"),
    stages: STAGE_NAMES.map(stage),
    klaviyo: { apiKey, keyHint, store, lists },
  };
}

/** The widget settings every tenant saves: its key, two stages and Won mapped to lists, an all-deals list. */
export function tenantSettings(tenant: Omit<SimTenant, "hookUrl">) {
  const { lists } = tenant.klaviyo;
  const stageId = (name: string) => tenant.stages.find((stage) => stage.name === name)!.id;
  return {
    klaviyoApiKey: tenant.klaviyo.apiKey,
    stageLists: [
      { pipelineId: tenant.pipelineId, statusId: stageId("Negotiation"), listId: lists.negotiation },
      { pipelineId: tenant.pipelineId, statusId: stageId("Contract"), listId: lists.contract },
      { pipelineId: tenant.pipelineId, statusId: 142, listId: lists.won },
    ],
    allDealsListId: lists.all,
    removeFromPreviousList: true,
  };
}

/**
 * Install through the Redirect URI as Kommo's install call does (`from_widget`), then save the
 * widget settings as the account's admin would.
 */
export async function createTenant(context: HarnessContext, tag: number, options: { timeoutMs?: number } = {}): Promise<Tenant> {
  const { kommo } = context.sims;
  const base = seedSimTenant(context.sims, tag);
  const simAccount = kommo.account(base.kommoAccountId);

  // Installs from one address are paced by the install door (429 with Retry-After), as Kommo's
  // own install calls would be: wait as asked and call again with a new code.
  let installed: Response;
  for (;;) {
    const callback = new URL(`${context.appUrl}/api/kommo/oauth/callback`);
    callback.search = new URLSearchParams({ code: kommo.issueCode(base.kommoAccountId), referer: `${base.subdomain}.kommo.com`, from_widget: "1" }).toString();
    installed = await fetch(callback, { signal: AbortSignal.timeout(30_000) });
    if (installed.status !== 429) break;
    await installed.text();
    await sleep(1000 * Math.max(1, Number(installed.headers.get("retry-after")) || 1));
  }
  if (installed.status !== 200 && installed.status !== 202) throw new Error(`install of ${base.subdomain} answered ${installed.status}: ${await installed.text()}`);
  // 202: the install finishes in the worker; it is done when our webhook is registered with Kommo.
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (simAccount.webhooks.length === 0) {
    if (Date.now() > deadline) throw new Error(`install of ${base.subdomain} did not register its webhook`);
    await sleep(100);
  }
  const tenant: Tenant = {
    ...base,
    hookUrl: simAccount.webhooks[0]!.destination,
    accountId: await context.observer.accountId(base.kommoAccountId),
    adminUserId: simAccount.users[0]!.id,
  };
  const saved = await fetch(`${context.appUrl}/api/widget/settings`, {
    method: "PUT",
    headers: await widgetHeaders(context, tenant),
    body: JSON.stringify(tenantSettings(tenant)),
    signal: AbortSignal.timeout(30_000),
  });
  if (saved.status !== 200) throw new Error(`settings of ${base.subdomain} answered ${saved.status}: ${await saved.text()}`);
  await context.observer.cancelInitialImports([tenant.accountId]);
  return tenant;
}

/** Create `count` tenants, a few at a time (each install is several rate-limited Kommo calls). */
export async function createTenants(context: HarnessContext, count: number, firstTag: number, parallel = 8): Promise<Tenant[]> {
  const tenants: Tenant[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const index = next++;
      tenants[index] = await createTenant(context, firstTag + index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return tenants;
}

/** A deal in "Incoming leads" with a main contact (e-mail, phone) and, for every other deal, a company. */
export function seedDeal(context: WithKommo, tenant: SimTenant, index: number): Deal {
  const { kommo } = context.sims;
  const company = index % 2 === 0 ? kommo.seedCompany(tenant.kommoAccountId, { name: `Company ${index}` }) : undefined;
  const email = `buyer${index}.${tenant.kommoAccountId}@example.com`;
  const contact = kommo.seedContact(tenant.kommoAccountId, {
    firstName: "Buyer",
    lastName: `No${index}`,
    emails: [email],
    // Unique within the tenant (two contacts sharing a phone is a conflict in Klaviyo, not the point here).
    phones: [`+1 212 ${200 + (index % 800)} ${String(Math.floor(index / 800) % 10_000).padStart(4, "0")}`],
    companyId: company?.id,
  });
  const lead = kommo.seedLead(tenant.kommoAccountId, {
    name: `Deal ${index}`,
    price: 1000 + index,
    pipelineId: tenant.pipelineId,
    statusId: tenant.incoming.id,
    contactIds: [contact.id],
    companyId: company?.id,
  });
  return { leadId: lead.id, contactId: contact.id, email };
}

/** The body Kommo posts when the deal was created. */
export function createdWebhook(context: WithKommo, tenant: SimTenant, deal: Deal): string {
  return context.sims.kommo.leadWebhookBody(tenant.kommoAccountId, deal.leadId, "add");
}

/** A user moves the deal to `statusId` in Kommo; returns the body Kommo posts for it and the stages. */
export function moveDeal(context: WithKommo, tenant: SimTenant, deal: Deal, statusId: number) {
  const { kommo } = context.sims;
  const before = kommo.account(tenant.kommoAccountId).leads.get(deal.leadId)!.status_id;
  kommo.updateLead(tenant.kommoAccountId, deal.leadId, { status_id: statusId });
  return { body: kommo.leadWebhookBody(tenant.kommoAccountId, deal.leadId, "status", { oldStatusId: before }), from: before, to: statusId };
}

/** Klaviyo's name of a Kommo stage as the app reports it (the closing stages get short names). */
export function stageLabel(tenant: Pick<SimTenant, "incoming" | "stages">, statusId: number): string {
  if (statusId === 142) return "Won";
  if (statusId === 143) return "Lost";
  if (statusId === tenant.incoming.id) return tenant.incoming.name;
  const stage = tenant.stages.find((candidate) => candidate.id === statusId);
  if (!stage) throw new Error(`unknown stage ${statusId}`);
  return stage.name;
}
