// Kommo CRM webhook deliveries, encoded exactly as Kommo sends them: a form body with nested keys
// (`leads[status][0][id]=...&account[id]=...`, brackets percent-encoded as PHP's http_build_query
// does), every value a string.
import { WON, LOST, type SimAccount, type SimCompany, type SimContact, type SimLead } from "./store";

type Nested = { [key: string]: Nested | Nested[] | string | number | boolean | null | undefined } | Nested[];

const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, "+");

export function encodeKommoForm(body: Nested): string {
  const pairs: string[] = [];
  const walk = (prefix: string, value: unknown) => {
    if (value === null || value === undefined) return;
    if (typeof value === "object") {
      for (const [key, child] of Object.entries(value)) walk(prefix ? `${prefix}[${key}]` : key, child);
      return;
    }
    pairs.push(`${encode(prefix)}=${encode(String(value))}`);
  };
  walk("", body);
  return pairs.join("&");
}

const accountSection = (account: SimAccount) => ({
  subdomain: account.subdomain,
  id: account.id,
  _links: { self: `https://${account.subdomain}.kommo.com` },
});

export type LeadAction = "add" | "update" | "status" | "delete";

/** A lead delivery as Kommo builds it from the lead's current state. */
export function leadDelivery(account: SimAccount, lead: SimLead, action: LeadAction, options: { oldStatusId?: number } = {}): Nested {
  const item =
    action === "delete"
      ? { id: lead.id, status_id: lead.status_id, pipeline_id: lead.pipeline_id }
      : {
          id: lead.id,
          name: lead.name,
          status_id: lead.status_id,
          ...(options.oldStatusId !== undefined ? { old_status_id: options.oldStatusId } : {}),
          price: lead.price,
          responsible_user_id: lead.responsible_user_id,
          last_modified: lead.updated_at,
          modified_user_id: lead.updated_by,
          created_user_id: lead.created_by,
          date_create: lead.created_at,
          pipeline_id: lead.pipeline_id,
          account_id: account.id,
          ...(lead.status_id === WON || lead.status_id === LOST ? { date_close: lead.closed_at ?? lead.updated_at } : {}),
          created_at: lead.created_at,
          updated_at: lead.updated_at,
        };
  return { leads: { [action]: [item] }, account: accountSection(account) };
}

/** A contact update delivery; e-mails and phones travel as custom fields with `code`. */
export function contactUpdateDelivery(account: SimAccount, contact: SimContact): Nested {
  return {
    contacts: {
      update: [
        {
          id: contact.id,
          name: contact.name,
          responsible_user_id: contact.responsible_user_id,
          date_create: contact.created_at,
          last_modified: contact.updated_at,
          created_user_id: contact.responsible_user_id,
          modified_user_id: contact.responsible_user_id,
          account_id: account.id,
          created_at: contact.created_at,
          updated_at: contact.updated_at,
          type: "contact",
          custom_fields: (contact.custom_fields_values ?? []).map((field) => ({
            id: field.field_id,
            name: field.field_name,
            code: field.field_code,
            // Kommo's webhooks carry a checkbox as "1" / "0".
            values: field.values.map((entry) => ({ value: typeof entry.value === "boolean" ? (entry.value ? "1" : "0") : entry.value, enum: entry.enum_id })),
          })),
        },
      ],
    },
    account: accountSection(account),
  };
}

/** A company update delivery: Kommo sends companies in the contacts section, with type "company". */
export function companyUpdateDelivery(account: SimAccount, company: SimCompany): Nested {
  return {
    contacts: {
      update: [
        {
          id: company.id,
          name: company.name,
          responsible_user_id: company.responsible_user_id,
          date_create: company.created_at,
          last_modified: company.updated_at,
          account_id: account.id,
          created_at: company.created_at,
          updated_at: company.updated_at,
          type: "company",
        },
      ],
    },
    account: accountSection(account),
  };
}

export type WebhookTarget = string | ((request: Request) => Promise<Response>);

/**
 * Deliver a body the way Kommo does (POST, form content type) to a loopback URL, or straight into
 * a route handler.
 */
export async function fireWebhook(target: WebhookTarget, body: string, contentType = "application/x-www-form-urlencoded"): Promise<Response> {
  const init = { method: "POST", headers: { "Content-Type": contentType, "User-Agent": "amoCRM-Webhooks/3.0" }, body };
  if (typeof target === "function") return target(new Request("http://127.0.0.1/api/kommo/webhooks/direct", init));
  const url = new URL(target);
  if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost" && url.hostname !== "[::1]") {
    throw new Error(`fireWebhook only sends to loopback addresses, not ${url.hostname}`);
  }
  return fetch(url, init);
}

/** Kommo's Digital Pipeline event types (1, 14 and 15 are a lead entering the action's stage). */
export const DP_TYPE_CODES: Record<number, string> = {
  1: "lead_added",
  14: "lead_status_changed",
  15: "lead_appeared_in_status",
  16: "mail_in",
  17: "call_in",
  18: "site_visit",
  19: "chat",
};

export type DigitalPipelineHookOptions = {
  /** The action's settings as the admin saved them (event_name, list_id, the hidden kss_token). */
  settings: Record<string, string | undefined>;
  /** 14 (lead_status_changed) unless given. */
  type?: number;
  /** `event.time`; the lead's last change unless given. */
  time?: number;
};

/**
 * A Digital Pipeline widget hook as Kommo posts it to the manifest's `dp.webhook_url` for a lead
 * that entered the action's stage: ids only, plus the action's settings.
 */
export function digitalPipelineHook(account: SimAccount, lead: SimLead, options: DigitalPipelineHookOptions): Nested {
  const type = options.type ?? 14;
  return {
    event: {
      type,
      type_code: DP_TYPE_CODES[type] ?? "unknown",
      data: { id: lead.id, element_type: 2, status_id: lead.status_id, pipeline_id: lead.pipeline_id, direction_of_movement: "went_to_trigger" },
      time: options.time ?? lead.updated_at,
    },
    action: { settings: { widget: { settings: options.settings } } },
    subdomain: account.subdomain,
    account_id: account.id,
  };
}

/** The hook encoded as documented (JSON) or as real deliveries have been seen (form, bracket keys). */
export function encodeDigitalPipelineHook(hook: Nested, encoding: "json" | "form"): { body: string; contentType: string } {
  return encoding === "json"
    ? { body: JSON.stringify(hook), contentType: "application/json" }
    : { body: encodeKommoForm(hook), contentType: "application/x-www-form-urlencoded" };
}
