// THE NAIVE BASELINE, not the product. The reference design the product is compared with in
// `npm run bench`: a webhook handler that does the whole sync while Kommo waits for its answer,
// five API calls one after another per webhook (read the lead, read its contact, upsert the
// profile, add it to a list, send the event), with no queue, no rate limiting, no retries, no
// de-duplication and no caching. Whatever fails is answered 500 and, in this design, lost.
//
// It runs as its own process (`node --import tsx bench/naive-baseline.ts <config.json>`) so that
// its memory and CPU are its own, against the same simulators as the product.
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import qs from "qs";

export type BaselineAccount = {
  hookKey: string;
  kommoAccountId: number;
  kommoAccessToken: string;
  klaviyoApiKey: string;
  /** Kommo status id -> stage name (a hand-built integration keeps them in its configuration). */
  stageNames: Record<string, string>;
  /** Kommo status id -> Klaviyo list id; other stages go to `allDealsListId`. */
  stageLists: Record<string, string>;
  allDealsListId: string;
};

export type BaselineConfig = { port: number; kommoUrl: string; klaviyoUrl: string; klaviyoRevision: string; accounts: BaselineAccount[] };

type LeadItem = { id?: string; status_id?: string; old_status_id?: string; updated_at?: string };

const KLAVIYO_JSON = "application/vnd.api+json";

class CallFailed extends Error {}

async function call(url: string, init: RequestInit): Promise<unknown> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new CallFailed(`${init.method ?? "GET"} ${new URL(url).pathname} answered ${response.status}`);
  return text ? JSON.parse(text) : null;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** The whole sync of one webhook, inline: five calls. */
async function syncInline(config: BaselineConfig, account: BaselineAccount, kind: string, lead: LeadItem): Promise<void> {
  const kommoHeaders = { Authorization: `Bearer ${account.kommoAccessToken}` };
  const klaviyoHeaders = { Authorization: `Klaviyo-API-Key ${account.klaviyoApiKey}`, revision: config.klaviyoRevision, Accept: KLAVIYO_JSON, "Content-Type": KLAVIYO_JSON };

  // 1. The lead, with its contacts.
  const fullLead = (await call(`${config.kommoUrl}/api/v4/leads/${lead.id}?with=contacts`, { headers: kommoHeaders })) as {
    id: number;
    name: string;
    price: number;
    status_id: number;
    _embedded?: { contacts?: { id: number; is_main: boolean }[] };
  };
  const contactId = fullLead._embedded?.contacts?.find((contact) => contact.is_main)?.id;
  if (!contactId) return;
  // 2. Its main contact.
  const contact = (await call(`${config.kommoUrl}/api/v4/contacts/${contactId}`, { headers: kommoHeaders })) as {
    first_name?: string;
    last_name?: string;
    custom_fields_values?: { field_code?: string; values: { value: string }[] }[] | null;
  };
  const email = contact.custom_fields_values?.find((field) => field.field_code === "EMAIL")?.values[0]?.value;
  if (!email) return;
  const stage = account.stageNames[String(fullLead.status_id)] ?? String(fullLead.status_id);

  // 3. The profile.
  const profile = (await call(`${config.klaviyoUrl}/api/profile-import`, {
    method: "POST",
    headers: klaviyoHeaders,
    body: JSON.stringify({
      data: {
        type: "profile",
        attributes: { email, first_name: contact.first_name ?? null, last_name: contact.last_name ?? null, properties: { crm_stage: stage, deal_amount: fullLead.price, kommo_deal_id: fullLead.id } },
      },
    }),
  })) as { data: { id: string } };
  // 4. A list: the stage's, or the all-deals list.
  const listId = account.stageLists[String(fullLead.status_id)] ?? account.allDealsListId;
  await call(`${config.klaviyoUrl}/api/lists/${listId}/relationships/profiles`, {
    method: "POST",
    headers: klaviyoHeaders,
    body: JSON.stringify({ data: [{ type: "profile", id: profile.data.id }] }),
  });
  // 5. The event.
  const moved = kind === "status" && lead.old_status_id !== undefined;
  await call(`${config.klaviyoUrl}/api/events`, {
    method: "POST",
    headers: klaviyoHeaders,
    body: JSON.stringify({
      data: {
        type: "event",
        attributes: {
          properties: {
            deal_name: fullLead.name,
            deal_stage: stage,
            kommo_deal_id: fullLead.id,
            ...(moved && { previous_stage: account.stageNames[lead.old_status_id!] ?? lead.old_status_id }),
          },
          metric: { data: { type: "metric", attributes: { name: moved ? "Stage Changed" : "Deal Created" } } },
          profile: { data: { type: "profile", attributes: { email } } },
          time: new Date(Number(lead.updated_at ?? Date.now() / 1000) * 1000).toISOString(),
          unique_id: `${account.kommoAccountId}:${fullLead.id}:${lead.status_id}:${lead.updated_at}`,
        },
      },
    }),
  });
}

export function startNaiveBaseline(config: BaselineConfig) {
  const accounts = new Map(config.accounts.map((account) => [account.hookKey, account]));
  const server = createServer((request, response) => {
    const answer = (status: number) => response.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify({ status }));
    const hookKey = /^\/hooks\/([^/]+)$/.exec(request.url ?? "")?.[1];
    const account = hookKey ? accounts.get(hookKey) : undefined;
    if (request.method !== "POST" || !account) return answer(404);
    readBody(request)
      .then(async (body) => {
        const parsed = qs.parse(body) as { leads?: Record<string, LeadItem[]> };
        for (const [kind, items] of Object.entries(parsed.leads ?? {})) {
          for (const lead of Object.values(items ?? {})) await syncInline(config, account, kind, lead);
        }
        answer(200);
      })
      .catch(() => answer(500));
  });
  server.listen(config.port, "127.0.0.1", () => console.log(`naive baseline listening on ${config.port}`));
  return server;
}

// Started as a process: the configuration file is the first argument.
if (process.argv[2]?.endsWith(".json") && process.argv[1]?.endsWith("naive-baseline.ts")) {
  const config = JSON.parse(readFileSync(process.argv[2], "utf8")) as BaselineConfig;
  startNaiveBaseline(config);
  process.on("SIGTERM", () => process.exit(0));
}
