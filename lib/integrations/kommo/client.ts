// Typed Kommo REST v4 calls. Every answer is parsed with zod; every call goes through kommoRequest
// (shared rate limit, token renewal, typed errors).
import qs from "qs";
import { z } from "zod";
import {
  accountSchema,
  collectionSchema,
  companySchema,
  contactSchema,
  createdNoteSchema,
  customFieldSchema,
  leadSchema,
  pipelineSchema,
  statusSchema,
  userSchema,
  webhookSchema,
  type Collection,
  type KommoAccount,
  type KommoCompany,
  type KommoContact,
  type KommoCreatedNote,
  type KommoCustomField,
  type KommoLead,
  type KommoPipeline,
  type KommoStatus,
  type KommoUser,
  type KommoWebhook,
} from "./api-schemas";
import { KommoResponseError } from "./errors";
import { mainContactId } from "./fields";
import { kommoRequest, type ApiRequest, type RequestTarget } from "./request";

/** Kommo returns and accepts at most 250 entities per request. */
export const MAX_PAGE_SIZE = 250;
/** Kommo recommends at most 50 entities per write. */
export const MAX_WRITE_BATCH = 50;

export type LeadWith = "contacts" | "loss_reason" | "catalog_elements" | "source_id" | "source" | "only_deleted";

export type ListLeadsParams = {
  /** Continue from the `nextHref` of the previous page (other parameters are then ignored). */
  nextHref?: string;
  page?: number;
  limit?: number;
  with?: LeadWith[];
  /** Only leads changed at or after this time, oldest first (resumable backfill). */
  updatedSince?: Date;
  pipelineIds?: number[];
  ids?: number[];
};

export type NoteType = "common" | "service_message" | "extended_service_message";
export type NewLeadNote = {
  leadId: number;
  noteType: NoteType;
  text: string;
  /** Name of the service shown on service messages (required by Kommo for those types). */
  service?: string;
};

export type LeadWithParties = {
  lead: KommoLead;
  /** The contact marked is_main (or the first one), null when the lead has none. */
  mainContact: KommoContact | null;
  company: KommoCompany | null;
};

const leadsPage = collectionSchema("leads", leadSchema);
const contactsPage = collectionSchema("contacts", contactSchema);
const companiesPage = collectionSchema("companies", companySchema);
const pipelinesAnswer = collectionSchema("pipelines", pipelineSchema);
const statusesAnswer = collectionSchema("statuses", statusSchema);
const usersPage = collectionSchema("users", userSchema);
const webhooksAnswer = collectionSchema("webhooks", webhookSchema);
const notesAnswer = collectionSchema("notes", createdNoteSchema);
const customFieldsPage = collectionSchema("custom_fields", customFieldSchema);
const updatedContactsAnswer = collectionSchema("contacts", z.object({ id: customFieldSchema.shape.id }));

/** One custom field value of a contact update: by field id or code; `values: null` clears the field. */
export type ContactFieldValue = { field_id?: number; field_code?: string; values: ({ value: string | number | boolean } | { enum_id: number })[] | null };
export type ContactUpdate = { id: number; custom_fields_values: ContactFieldValue[] };

const query = (params: Record<string, unknown>) => {
  // Brackets stay literal (`filter[id][]=1`), as Kommo's own examples write them; it keeps
  // 250-id batch URLs well under the usual 8 KB request-line limit.
  const text = qs.stringify(params, { arrayFormat: "brackets", encodeValuesOnly: true, skipNulls: true });
  return text ? `?${text}` : "";
};

const chunk = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, index * size + size));

export class KommoClient {
  private calls = 0;

  constructor(private readonly target: RequestTarget) {}

  /** HTTP requests this client has sent (for per-job call counts in the sync log). */
  get requestCount(): number {
    return this.calls;
  }

  /** The same account, with calls abandoned when `signal` fires (deadline of a job or request). */
  withSignal(signal: AbortSignal): KommoClient {
    return new KommoClient({ ...this.target, signal });
  }

  private send<Schema extends z.ZodType>(request: ApiRequest<Schema>) {
    return kommoRequest({ ...this.target, onRequest: () => this.calls++ }, request);
  }

  /** Kommo's `_links.next.href`, reduced to its path so that the token only ever goes to our base URL. */
  private nextPath(href: string | undefined): string | null {
    if (!href) return null;
    const url = new URL(href, this.target.baseUrl);
    return url.pathname.startsWith("/api/v4/") ? `${url.pathname}${url.search}` : null;
  }

  private async page<Item>(path: string, schema: z.ZodType, key: string): Promise<Collection<Item>> {
    const body = (await this.send({ method: "GET", path, schema })) as
      | { _embedded: Record<string, Item[]>; _links?: { next?: { href: string } } }
      | null;
    if (!body) return { items: [], nextHref: null };
    return { items: body._embedded[key] ?? [], nextHref: this.nextPath(body._links?.next?.href) };
  }

  private async all<Item>(firstPath: string, schema: z.ZodType, key: string): Promise<Item[]> {
    const items: Item[] = [];
    for (let path: string | null = firstPath; path; ) {
      const page: Collection<Item> = await this.page<Item>(path, schema, key);
      items.push(...page.items);
      path = page.nextHref;
    }
    return items;
  }

  /** `datetimeSettings`: with the account's date and time settings (its time zone) in `_embedded`. */
  async getAccount(options: { datetimeSettings?: boolean } = {}): Promise<KommoAccount> {
    const path = options.datetimeSettings ? `/api/v4/account${query({ with: "datetime_settings" })}` : "/api/v4/account";
    const account = await this.send({ method: "GET", path, schema: accountSchema });
    if (!account) throw new KommoResponseError("Kommo answered GET /api/v4/account with no content");
    return account;
  }

  /** Users of the account (admin-only in Kommo). */
  getUsers(): Promise<KommoUser[]> {
    return this.all<KommoUser>(`/api/v4/users${query({ limit: MAX_PAGE_SIZE })}`, usersPage, "users");
  }

  /** One user with their rights (admin-only in Kommo); null when there is no such user. */
  getUser(userId: number): Promise<KommoUser | null> {
    return this.send({ method: "GET", path: `/api/v4/users/${userId}`, schema: userSchema });
  }

  /** One lead, with its contacts' ids (`is_main` marks the main one); null when it does not exist. */
  getLead(leadId: number, options: { with?: LeadWith[] } = { with: ["contacts"] }): Promise<KommoLead | null> {
    return this.send({ method: "GET", path: `/api/v4/leads/${leadId}${query({ with: options.with?.join(",") })}`, schema: leadSchema });
  }

  /** The lead, its main contact and its company: three calls, the last two in parallel. */
  async getLeadWithParties(leadId: number): Promise<LeadWithParties | null> {
    const lead = await this.getLead(leadId, { with: ["contacts"] });
    if (!lead) return null;
    const contactId = mainContactId(lead);
    const companyId = lead._embedded?.companies?.[0]?.id;
    const [mainContact, company] = await Promise.all([
      contactId === null ? null : this.getContact(contactId),
      companyId === undefined ? null : this.getCompany(companyId),
    ]);
    return { lead, mainContact, company };
  }

  /** One page of leads; follow `nextHref` for the next one. An empty result (204) is an empty page. */
  listLeadsPage(params: ListLeadsParams = {}): Promise<Collection<KommoLead>> {
    if (params.nextHref !== undefined) {
      const next = this.nextPath(params.nextHref);
      // A cursor that is not a leads page must not silently restart from page 1.
      if (!next?.startsWith("/api/v4/leads?")) return Promise.reject(new KommoResponseError(`Not a Kommo leads page: ${params.nextHref}`));
      return this.page<KommoLead>(next, leadsPage, "leads");
    }
    const path = `/api/v4/leads${query({
      page: params.page,
      limit: Math.min(params.limit ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE),
      with: params.with?.join(","),
      filter: {
        id: params.ids,
        pipeline_id: params.pipelineIds,
        updated_at: params.updatedSince ? { from: Math.floor(params.updatedSince.getTime() / 1000) } : undefined,
      },
      order: params.updatedSince ? { updated_at: "asc" } : undefined,
    })}`;
    return this.page<KommoLead>(path, leadsPage, "leads");
  }

  /** Every lead matching `params`, page by page. */
  async *iterateLeads(params: Omit<ListLeadsParams, "nextHref"> = {}): AsyncGenerator<KommoLead[]> {
    let page = await this.listLeadsPage(params);
    while (true) {
      if (page.items.length > 0) yield page.items;
      if (!page.nextHref) return;
      page = await this.listLeadsPage({ nextHref: page.nextHref });
    }
  }

  getContact(contactId: number): Promise<KommoContact | null> {
    return this.send({ method: "GET", path: `/api/v4/contacts/${contactId}`, schema: contactSchema });
  }

  /** Contacts by id, 250 per request (`filter[id][]`); unknown ids are simply absent. */
  async getContacts(contactIds: number[], options: { withLeads?: boolean } = {}): Promise<KommoContact[]> {
    const unique = [...new Set(contactIds)];
    const results: KommoContact[] = [];
    for (const ids of chunk(unique, MAX_PAGE_SIZE)) {
      const path = `/api/v4/contacts${query({ filter: { id: ids }, limit: MAX_PAGE_SIZE, with: options.withLeads ? "leads" : undefined })}`;
      results.push(...(await this.all<KommoContact>(path, contactsPage, "contacts")));
    }
    return results;
  }

  getCompany(companyId: number): Promise<KommoCompany | null> {
    return this.send({ method: "GET", path: `/api/v4/companies/${companyId}`, schema: companySchema });
  }

  /** Companies by id, 250 per request. */
  async getCompanies(companyIds: number[]): Promise<KommoCompany[]> {
    const results: KommoCompany[] = [];
    for (const ids of chunk([...new Set(companyIds)], MAX_PAGE_SIZE)) {
      results.push(...(await this.all<KommoCompany>(`/api/v4/companies${query({ filter: { id: ids }, limit: MAX_PAGE_SIZE })}`, companiesPage, "companies")));
    }
    return results;
  }

  /** Every pipeline with its stages (including the system stages 142 Won and 143 Lost). */
  async getPipelines(): Promise<KommoPipeline[]> {
    const body = await this.send({ method: "GET", path: "/api/v4/leads/pipelines", schema: pipelinesAnswer });
    return body?._embedded.pipelines ?? [];
  }

  async getPipelineStatuses(pipelineId: number): Promise<KommoStatus[]> {
    const body = await this.send({ method: "GET", path: `/api/v4/leads/pipelines/${pipelineId}/statuses`, schema: statusesAnswer });
    return body?._embedded.statuses ?? [];
  }

  /**
   * Add notes to leads, many per request (50 at most, as Kommo recommends for writes). A write is not
   * repeated after a 5xx: the caller's retry decides, since Kommo may have stored part of it.
   */
  async addLeadNotes(notes: NewLeadNote[]): Promise<KommoCreatedNote[]> {
    const created: KommoCreatedNote[] = [];
    for (const batch of chunk(notes, MAX_WRITE_BATCH)) {
      const body = batch.map((note, index) => ({
        entity_id: note.leadId,
        note_type: note.noteType,
        request_id: String(index),
        params: note.noteType === "common" ? { text: note.text } : { service: note.service ?? "Klaviyo Sync", text: note.text },
      }));
      const answer = await this.send({ method: "POST", path: "/api/v4/leads/notes", body, schema: notesAnswer });
      created.push(...(answer?._embedded.notes ?? []));
    }
    return created;
  }

  /** Every custom field of contacts (the standard EMAIL and PHONE included). */
  getContactCustomFields(): Promise<KommoCustomField[]> {
    return this.all<KommoCustomField>(`/api/v4/contacts/custom_fields${query({ limit: MAX_PAGE_SIZE })}`, customFieldsPage, "custom_fields");
  }

  /** Create contact custom fields (admin only); Kommo answers with the created fields and their enum ids. */
  async createContactCustomFields(fields: { name: string; type: string; code?: string; is_api_only?: boolean; enums?: { value: string; sort: number }[] }[]): Promise<KommoCustomField[]> {
    const answer = await this.send({ method: "POST", path: "/api/v4/contacts/custom_fields", body: fields, schema: customFieldsPage });
    return answer?._embedded.custom_fields ?? [];
  }

  /** Set custom field values of contacts, 50 contacts a request (PATCH /api/v4/contacts). */
  async updateContacts(updates: ContactUpdate[]): Promise<void> {
    for (const batch of chunk(updates, MAX_WRITE_BATCH)) {
      await this.send({ method: "PATCH", path: "/api/v4/contacts", body: batch, schema: updatedContactsAnswer });
    }
  }

  /** Webhooks of the account (admin only), optionally only those with this destination. */
  async listWebhooks(destination?: string): Promise<KommoWebhook[]> {
    const body = await this.send({ method: "GET", path: `/api/v4/webhooks${query({ filter: { destination } })}`, schema: webhooksAnswer });
    return body?._embedded.webhooks ?? [];
  }

  registerWebhook(webhook: { destination: string; settings: readonly string[]; sort?: number }): Promise<KommoWebhook> {
    return this.send({
      method: "POST",
      path: "/api/v4/webhooks",
      body: { destination: webhook.destination, settings: webhook.settings, sort: webhook.sort ?? 10 },
      schema: webhookSchema,
    }).then((created) => {
      if (!created) throw new KommoResponseError("Kommo answered the webhook registration with no content");
      return created;
    });
  }

  /** Unsubscribe the webhook with this destination (Kommo identifies webhooks by destination). */
  async deleteWebhook(destination: string): Promise<void> {
    await this.send({ method: "DELETE", path: "/api/v4/webhooks", body: { destination } });
  }
}
