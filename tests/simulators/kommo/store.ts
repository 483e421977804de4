// In-memory data of the simulated Kommo: accounts and their pipelines, leads, contacts, companies,
// notes, webhooks and users, plus OAuth codes and tokens. Entities are kept in Kommo's own field
// names so that the HTTP layer can render them as Kommo does.
import { randomBytes } from "node:crypto";
import { recordLeadAdded, recordStatusChange } from "./events";

export type SimStatus = { id: number; name: string; sort: number; is_editable: boolean; pipeline_id: number; color: string; type: 0 | 1 };
export type SimPipeline = { id: number; name: string; sort: number; is_main: boolean; is_unsorted_on: boolean; is_archive: boolean; statuses: SimStatus[] };
export type SimCustomField = {
  field_id: number;
  field_name: string;
  field_code: string | null;
  field_type: string;
  values: { value: string | boolean; enum_id?: number; enum_code?: string }[];
};
export type SimLead = {
  id: number;
  name: string;
  price: number;
  responsible_user_id: number;
  group_id: number;
  status_id: number;
  pipeline_id: number;
  loss_reason_id: number | null;
  created_by: number;
  updated_by: number;
  created_at: number;
  updated_at: number;
  closed_at: number | null;
  is_deleted: boolean;
  custom_fields_values: SimCustomField[] | null;
  contacts: { id: number; is_main: boolean }[];
  companyId: number | null;
};
export type SimContact = {
  id: number;
  name: string;
  first_name: string;
  last_name: string;
  responsible_user_id: number;
  created_at: number;
  updated_at: number;
  custom_fields_values: SimCustomField[] | null;
  companyId: number | null;
};
export type SimCompany = { id: number; name: string; responsible_user_id: number; created_at: number; updated_at: number; custom_fields_values: SimCustomField[] | null };
export type SimNote = { id: number; entity_id: number; note_type: string; params: Record<string, unknown>; created_at: number };
export type SimWebhook = { id: number; destination: string; settings: string[]; sort: number; disabled: boolean; created_at: number; updated_at: number };
export type SimLossReason = { id: number; name: string; sort: number; created_at: number; updated_at: number };
/** Kommo's rights letters: A all, G the user's group's, M the user's own, D none. */
export type SimRight = "A" | "G" | "M" | "D";
export type SimEntityRights = { view: SimRight; edit: SimRight; add: SimRight; delete: SimRight; export: SimRight };
/** A stage's rights for leads, overriding the general ones for deals in that stage. */
export type SimStatusRight = { entity_type: "leads"; pipeline_id: number; status_id: number; rights: { view: SimRight; edit: SimRight; delete: SimRight } };
export type SimUser = {
  id: number;
  name: string;
  email: string;
  lang: string;
  is_admin: boolean;
  is_active: boolean;
  /** The user's group (Kommo's "user groups"); null: none. */
  group_id?: number | null;
  /** Lead rights; absent: everything allowed (A). */
  leads?: SimEntityRights;
  status_rights?: SimStatusRight[];
};

export const ALL_RIGHTS: SimEntityRights = { view: "A", edit: "A", add: "A", delete: "A", export: "A" };

export type SimAccount = {
  id: number;
  subdomain: string;
  name: string;
  country: string;
  currency: string;
  currency_symbol: string;
  /** The account's date and time settings (`?with=datetime_settings`), e.g. "America/Mexico_City". */
  timezone: string;
  users: SimUser[];
  lossReasons: Map<number, SimLossReason>;
  pipelines: Map<number, SimPipeline>;
  leads: Map<number, SimLead>;
  contacts: Map<number, SimContact>;
  companies: Map<number, SimCompany>;
  notes: SimNote[];
  webhooks: SimWebhook[];
};

/** `userId`: the Kommo user who granted access (unset: the account's first admin, as for installs). */
export type SimCode = { accountId: number; expiresAt: number; used: boolean; userId?: number };
/** `answered`: API calls made with the token that got a 2xx answer (for tests that follow one token). */
export type SimAccessToken = { accountId: number; expiresAt: number; revoked: boolean; userId?: number; answered?: number };
export type SimRefreshToken = { accountId: number; expiresAt: number; used: boolean; revoked: boolean; userId?: number };

/** Field ids of the standard contact fields, as every Kommo account has them (ids vary per account). */
export const PHONE_FIELD_ID = 1_000_001;
export const EMAIL_FIELD_ID = 1_000_002;
const PHONE_ENUMS: Record<string, number> = { WORK: 2_000_001, WORKDD: 2_000_002, MOB: 2_000_003, FAX: 2_000_004, HOME: 2_000_005, OTHER: 2_000_006 };
const EMAIL_ENUMS: Record<string, number> = { WORK: 2_000_011, PRIV: 2_000_012, OTHER: 2_000_013 };

export const WON = 142;
export const LOST = 143;

export const secretToken = (prefix: string) => `${prefix}${randomBytes(24).toString("base64url")}`;

export class SimStore {
  readonly accounts = new Map<number, SimAccount>();
  readonly codes = new Map<string, SimCode>();
  readonly accessTokens = new Map<string, SimAccessToken>();
  readonly refreshTokens = new Map<string, SimRefreshToken>();
  private nextId = 10_000_000;

  constructor(private readonly now: () => number) {}

  id(): number {
    return ++this.nextId;
  }

  /** Entities made from now on get ids from `first` on (Kommo's ids have no 32-bit bound). */
  continueIdsFrom(first: number): void {
    if (first - 1 < this.nextId) throw new Error(`simulator: ids up to ${this.nextId} are given out already`);
    this.nextId = first - 1;
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  account(accountId: number): SimAccount {
    const account = this.accounts.get(accountId);
    if (!account) throw new Error(`simulator: no account ${accountId}`);
    return account;
  }

  /** `language`: the interface language of the account's admin (Kommo: en, es, pt, …). */
  addAccount(input: { id: number; subdomain: string; name?: string; country?: string; currency?: string; language?: string; timezone?: string }): SimAccount {
    const adminId = this.id();
    const account: SimAccount = {
      id: input.id,
      subdomain: input.subdomain,
      name: input.name ?? `${input.subdomain} Inc.`,
      country: input.country ?? "US",
      currency: input.currency ?? "USD",
      currency_symbol: input.currency === "EUR" ? "€" : "$",
      timezone: input.timezone ?? "UTC",
      users: [{ id: adminId, name: "Admin", email: `admin@${input.subdomain}.example`, lang: input.language ?? "en", is_admin: true, is_active: true }],
      lossReasons: new Map(),
      pipelines: new Map(),
      leads: new Map(),
      contacts: new Map(),
      companies: new Map(),
      notes: [],
      webhooks: [],
    };
    this.accounts.set(account.id, account);
    return account;
  }

  /** A pipeline with "Incoming leads" (type 1), the given stages, and the system stages 142 / 143. */
  seedPipeline(accountId: number, input: { name: string; stages: string[]; isMain?: boolean }): SimPipeline {
    const account = this.account(accountId);
    const id = this.id();
    const status = (statusId: number, name: string, sort: number, type: 0 | 1 = 0, editable = true): SimStatus => ({
      id: statusId,
      name,
      sort,
      is_editable: editable,
      pipeline_id: id,
      color: "#99ccff",
      type,
    });
    const pipeline: SimPipeline = {
      id,
      name: input.name,
      sort: (account.pipelines.size + 1) * 10,
      is_main: input.isMain ?? account.pipelines.size === 0,
      is_unsorted_on: true,
      is_archive: false,
      statuses: [
        status(this.id(), "Incoming leads", 10, 1, false),
        ...input.stages.map((name, index) => status(this.id(), name, 20 + index * 10)),
        status(WON, "Closed - won", 10_000, 0, false),
        status(LOST, "Closed - lost", 11_000, 0, false),
      ],
    };
    account.pipelines.set(id, pipeline);
    return pipeline;
  }

  /** A loss reason of the account (Kommo's "loss reasons" list), for leads closed as lost. */
  seedLossReason(accountId: number, name: string): SimLossReason {
    const account = this.account(accountId);
    const now = this.nowSeconds();
    const reason = { id: this.id(), name, sort: (account.lossReasons.size + 1) * 10, created_at: now, updated_at: now };
    account.lossReasons.set(reason.id, reason);
    return reason;
  }

  seedCompany(accountId: number, input: { name: string }): SimCompany {
    const account = this.account(accountId);
    const now = this.nowSeconds();
    const company: SimCompany = {
      id: this.id(),
      name: input.name,
      responsible_user_id: account.users[0]!.id,
      created_at: now,
      updated_at: now,
      custom_fields_values: null,
    };
    account.companies.set(company.id, company);
    return company;
  }

  seedContact(
    accountId: number,
    input: { firstName: string; lastName: string; emails?: string[]; phones?: string[]; companyId?: number; id?: number },
  ): SimContact {
    const account = this.account(accountId);
    const now = this.nowSeconds();
    const fields: SimCustomField[] = [];
    if (input.phones?.length) {
      fields.push({
        field_id: PHONE_FIELD_ID,
        field_name: "Phone",
        field_code: "PHONE",
        field_type: "multitext",
        values: input.phones.map((value, index) => ({ value, enum_id: PHONE_ENUMS[index === 0 ? "WORK" : "MOB"], enum_code: index === 0 ? "WORK" : "MOB" })),
      });
    }
    if (input.emails?.length) {
      fields.push({
        field_id: EMAIL_FIELD_ID,
        field_name: "Email",
        field_code: "EMAIL",
        field_type: "multitext",
        values: input.emails.map((value, index) => ({ value, enum_id: EMAIL_ENUMS[index === 0 ? "WORK" : "PRIV"], enum_code: index === 0 ? "WORK" : "PRIV" })),
      });
    }
    if (input.id !== undefined && account.contacts.has(input.id)) throw new Error(`simulator: contact ${input.id} exists`);
    const contact: SimContact = {
      id: input.id ?? this.id(),
      name: `${input.firstName} ${input.lastName}`.trim(),
      first_name: input.firstName,
      last_name: input.lastName,
      responsible_user_id: account.users[0]!.id,
      created_at: now,
      updated_at: now,
      // Kommo sends null, not [], when a contact has no custom field values.
      custom_fields_values: fields.length ? fields : null,
      companyId: input.companyId ?? null,
    };
    account.contacts.set(contact.id, contact);
    return contact;
  }

  seedLead(
    accountId: number,
    input: {
      name: string;
      price?: number;
      pipelineId: number;
      statusId: number;
      contactIds?: number[];
      companyId?: number;
      lossReasonId?: number;
      updatedAt?: number;
      /** A chosen id (default: the next one). */
      id?: number;
      /** Default: the account's first user (its admin). */
      responsibleUserId?: number;
    },
  ): SimLead {
    const account = this.account(accountId);
    const pipeline = account.pipelines.get(input.pipelineId);
    if (!pipeline?.statuses.some((status) => status.id === input.statusId)) {
      throw new Error(`simulator: status ${input.statusId} is not in pipeline ${input.pipelineId}`);
    }
    const now = input.updatedAt ?? this.nowSeconds();
    const user = account.users[0]!.id;
    if (input.id !== undefined && account.leads.has(input.id)) throw new Error(`simulator: lead ${input.id} exists`);
    const responsible = input.responsibleUserId === undefined ? account.users[0]! : account.users.find((candidate) => candidate.id === input.responsibleUserId);
    if (!responsible) throw new Error(`simulator: no user ${input.responsibleUserId} in account ${accountId}`);
    const lead: SimLead = {
      id: input.id ?? this.id(),
      name: input.name,
      price: input.price ?? 0,
      responsible_user_id: responsible.id,
      // Kommo gives a deal the group of its responsible user (0: the main group).
      group_id: responsible.group_id ?? 0,
      status_id: input.statusId,
      pipeline_id: input.pipelineId,
      loss_reason_id: input.lossReasonId ?? null,
      created_by: user,
      updated_by: user,
      created_at: now,
      updated_at: now,
      closed_at: input.statusId === WON || input.statusId === LOST ? now : null,
      is_deleted: false,
      custom_fields_values: null,
      contacts: (input.contactIds ?? []).map((id, index) => ({ id, is_main: index === 0 })),
      companyId: input.companyId ?? null,
    };
    account.leads.set(lead.id, lead);
    recordLeadAdded(account, lead);
    return lead;
  }

  /** Change a lead as a user would in Kommo (moves updated_at forward). */
  updateLead(accountId: number, leadId: number, patch: Partial<Pick<SimLead, "name" | "price" | "status_id" | "pipeline_id" | "loss_reason_id">>): SimLead {
    const account = this.account(accountId);
    const lead = account.leads.get(leadId);
    if (!lead) throw new Error(`simulator: no lead ${leadId}`);
    const before = { status_id: lead.status_id, pipeline_id: lead.pipeline_id };
    Object.assign(lead, patch, { updated_at: Math.max(lead.updated_at + 1, this.nowSeconds()) });
    if (patch.status_id === WON || patch.status_id === LOST) lead.closed_at = lead.updated_at;
    recordStatusChange(account, lead, before);
    return lead;
  }
}
