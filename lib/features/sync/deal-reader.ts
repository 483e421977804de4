// Reads what the mapping needs about a deal from Kommo: the lead (with its loss reason), its main
// contact and its company, plus stage, pipeline and user names. Pipelines and users change rarely
// and cost a call each, so each worker keeps them for a few minutes per account.
import type { KommoClient } from "@/lib/integrations/kommo/client";
import type { KommoContact, KommoLead, KommoPipeline, KommoUser } from "@/lib/integrations/kommo/api-schemas";
import { mainContactId } from "@/lib/integrations/kommo/fields";
import { KommoError } from "@/lib/integrations/kommo/errors";
import { readCompanyName } from "./company-cache";
import { readContact } from "./contact-cache";
import type { DealSnapshot } from "./mapping";

const DIRECTORY_TTL_MS = 5 * 60_000;

type Directory = { pipelines: KommoPipeline[]; users: Map<number, string>; loadedAt: number };
const directories = new Map<string, Directory>();

async function loadUsers(kommo: KommoClient): Promise<KommoUser[]> {
  try {
    return await kommo.getUsers();
  } catch (error) {
    // The users list is for admins; a token of a non-admin only loses the manager's name.
    if (error instanceof KommoError && !error.retryable) return [];
    throw error;
  }
}

async function directoryFor(accountId: string, kommo: KommoClient, needStage?: { pipelineId: number; statusId: number }): Promise<Directory> {
  const cached = directories.get(accountId);
  const fresh = cached && Date.now() - cached.loadedAt < DIRECTORY_TTL_MS;
  // A stage created since we cached the pipelines: read them again.
  if (cached && fresh && (!needStage || knowsStage(cached, needStage.pipelineId, needStage.statusId))) return cached;
  const [pipelines, users] = await Promise.all([kommo.getPipelines(), loadUsers(kommo)]);
  const directory = { pipelines, users: new Map(users.map((user) => [user.id, user.name ?? ""])), loadedAt: Date.now() };
  directories.set(accountId, directory);
  return directory;
}

/** Whether the directory has this stage (one created since it was read does not). */
export function knowsStage(directory: Pick<Directory, "pipelines">, pipelineId: number, statusId: number): boolean {
  return directory.pipelines.some((pipeline) => pipeline.id === pipelineId && pipeline._embedded.statuses.some((status) => status.id === statusId));
}

export function stageNameIn(directory: Pick<Directory, "pipelines">, pipelineId: number, statusId: number): string | null {
  const pipeline = directory.pipelines.find((entry) => entry.id === pipelineId);
  return pipeline?._embedded.statuses.find((status) => status.id === statusId)?.name ?? null;
}

/** What the mapping needs of a lead, its main contact and its company: live syncs and the backfill alike. */
export function dealSnapshotOf(
  lead: KommoLead,
  mainContact: DealSnapshot["mainContact"],
  companyName: string | null,
  directory: Pick<Directory, "pipelines" | "users">,
): DealSnapshot {
  const pipeline = directory.pipelines.find((entry) => entry.id === lead.pipeline_id);
  return {
    lead: {
      id: lead.id,
      name: lead.name ?? null,
      price: lead.price ?? null,
      pipelineId: lead.pipeline_id,
      statusId: lead.status_id,
      responsibleUserName: lead.responsible_user_id ? directory.users.get(lead.responsible_user_id) || null : null,
      lossReason: lead._embedded?.loss_reason?.[0]?.name ?? null,
    },
    stageName: stageNameIn(directory, lead.pipeline_id, lead.status_id),
    pipelineName: pipeline?.name ?? null,
    mainContact,
    companyName,
  };
}

export type DealRead = {
  snapshot: DealSnapshot;
  /** Stage names of the account, to name the stages of past changes. */
  stageName: (pipelineId: number, statusId: number) => string | null;
  /** The main contact as Kommo answered, when this read went to Kommo for it (not to the cache). */
  mainContactFromKommo: KommoContact | null;
};

/**
 * The deal as Kommo has it now; null when the lead no longer exists. The main contact and the
 * company's name may come from our caches (contact-cache.ts, company-cache.ts) unless
 * `freshContact` / `freshCompany`.
 */
export async function readDeal(
  accountId: string,
  kommo: KommoClient,
  leadId: number,
  options: { freshContact?: boolean; freshCompany?: boolean } = {},
): Promise<DealRead | null> {
  const lead = await kommo.getLead(leadId, { with: ["contacts", "loss_reason"] });
  if (!lead || lead.is_deleted) return null;
  const contactId = mainContactId(lead);
  const companyId = lead._embedded?.companies?.[0]?.id;
  const [contact, companyName, directory] = await Promise.all([
    contactId === null ? null : readContact(accountId, kommo, contactId, options.freshContact ?? false),
    companyId === undefined ? null : readCompanyName(accountId, kommo, companyId, options.freshCompany ?? false),
    directoryFor(accountId, kommo, { pipelineId: lead.pipeline_id, statusId: lead.status_id }),
  ]);
  return {
    snapshot: dealSnapshotOf(lead, contact?.snapshot ?? null, companyName, directory),
    stageName: (pipelineId, statusId) => stageNameIn(directory, pipelineId, statusId),
    mainContactFromKommo: contact?.fromKommo ?? null,
  };
}
