// The Kommo side of a historical import: leads 250 a page with their contacts' ids, then those
// contacts and companies 250 a request. With Kommo's 7 requests a second that is the whole cost:
// 10,000 deals are 40 pages of leads and 40 of contacts (plus companies when deals have them).
import type { KommoClient } from "@/lib/integrations/kommo/client";
import { MAX_PAGE_SIZE } from "@/lib/integrations/kommo/client";
import type { KommoLead } from "@/lib/integrations/kommo/api-schemas";
import { KommoError } from "@/lib/integrations/kommo/errors";
import { LOST_STATUS_ID, WON_STATUS_ID } from "@/lib/features/sync/mapping";
import { mainContactId } from "@/lib/integrations/kommo/fields";
import type { DealParties, Directory } from "./plan";
import type { BackfillScope } from "./scope";

/** Leads pages per chunk: a chunk is the unit of work saved in the cursor (1000 deals). */
export const CHUNK_PAGES = 4;

export type Chunk = {
  /** The chunk's deals in scope (an "only open" run leaves won and lost ones out). */
  deals: DealParties[];
  /** Where the next chunk starts; null when this was the last page. */
  nextHref: string | null;
};

/** Pipelines with their stages, and user names (admin-only in Kommo: a non-admin token gets none). */
export async function readDirectory(kommo: KommoClient): Promise<Directory> {
  const pipelines = await kommo.getPipelines();
  let users: Awaited<ReturnType<KommoClient["getUsers"]>> = [];
  try {
    users = await kommo.getUsers();
  } catch (error) {
    if (!(error instanceof KommoError) || error.retryable) throw error;
  }
  return { pipelines, users: new Map(users.map((user) => [user.id, user.name ?? ""])) };
}

const isOpen = (lead: KommoLead) => lead.status_id !== WON_STATUS_ID && lead.status_id !== LOST_STATUS_ID;

/** Read up to CHUNK_PAGES pages of leads from `from` (null: the first page of the scope). */
export async function readChunk(kommo: KommoClient, scope: BackfillScope, from: string | null, pages = CHUNK_PAGES): Promise<Chunk> {
  const leads: KommoLead[] = [];
  let nextHref: string | null = from;
  for (let page = 0; page < pages; page++) {
    const answer =
      page === 0 && from === null
        ? await kommo.listLeadsPage({
            limit: MAX_PAGE_SIZE,
            with: ["contacts", "loss_reason"],
            pipelineIds: scope.pipelineIds,
            updatedSince: scope.since ? new Date(scope.since) : undefined,
          })
        : await kommo.listLeadsPage({ nextHref: nextHref! });
    leads.push(...answer.items);
    nextHref = answer.nextHref;
    if (!nextHref) break;
  }
  const wanted = scope.onlyOpen ? leads.filter(isOpen) : leads;
  const contactIds = wanted.map(mainContactId).filter((id): id is number => id !== null);
  const companyIds = wanted.map((lead) => lead._embedded?.companies?.[0]?.id).filter((id): id is number => id !== undefined);
  const contacts = new Map((await kommo.getContacts(contactIds)).map((contact) => [contact.id, contact]));
  const companies = new Map((companyIds.length > 0 ? await kommo.getCompanies(companyIds) : []).map((company) => [company.id, company]));
  const deals = wanted.map((lead) => {
    const contactId = mainContactId(lead);
    const companyId = lead._embedded?.companies?.[0]?.id;
    return {
      lead,
      contact: contactId === null ? null : (contacts.get(contactId) ?? null),
      company: companyId === undefined ? null : (companies.get(companyId) ?? null),
    };
  });
  return { deals, nextHref };
}
