// What a Kommo id is: a positive integer that a JavaScript number holds exactly, whether it
// arrives as a JSON number (API answers, job data) or as text (URL segments, form values, webhooks).
import { describe, expect, it } from "vitest";
import { parseWebhookBody } from "@/lib/integrations/kommo/webhook-payload";
import { MAX_KOMMO_ID, kommoIdSchema, kommoIdTextSchema, kommoReferenceSchema } from "@/lib/integrations/kommo/ids";
import { leadSchema } from "@/lib/integrations/kommo/api-schemas";
import { syncLeadJobSchema } from "@/lib/features/sync/sync-lead";
import { backfillScopeSchema } from "@/lib/features/backfill/scope";
import { leadIdSchema } from "@/lib/features/widget-api/lead-id";
import { parseLogQuery } from "@/lib/features/dashboard/sync-log";

const ABOVE_INT32 = [2 ** 31, 3_000_000_000, 99_999_999_999, MAX_KOMMO_ID];

describe("a Kommo id", () => {
  it("is any positive safe integer: 32 bits are no limit", () => {
    expect(MAX_KOMMO_ID).toBe(Number.MAX_SAFE_INTEGER);
    for (const id of [1, 2 ** 31 - 1, ...ABOVE_INT32]) {
      expect(kommoIdSchema.parse(id)).toBe(id);
      expect(kommoIdTextSchema.parse(String(id))).toBe(id);
    }
  });

  it("is never zero, negative, fractional, beyond 2^53 - 1, or not a number", () => {
    for (const value of [0, -1, 1.5, 2 ** 53, 2 ** 64, Number.NaN, Number.POSITIVE_INFINITY, "12", null, undefined]) {
      expect(kommoIdSchema.safeParse(value).success, String(value)).toBe(false);
    }
    // As text: digits only, one spelling per id (no sign, no leading zero, no exponent), and a
    // value a number holds exactly (2^53 would be read as a different id than the one sent).
    for (const text of ["", "0", "-5", "+5", "007", "1.5", "12e3", " 12", "12 ", "0x1f", "9007199254740992", "9007199254740993", "12345678901234567", "abc"]) {
      expect(kommoIdTextSchema.safeParse(text).success, JSON.stringify(text)).toBe(false);
    }
  });

  it("as a reference in an API answer may be 0 (Kommo's 'none'), nothing else outside the range", () => {
    expect(kommoReferenceSchema.parse(0)).toBe(0);
    expect(kommoReferenceSchema.parse(3_000_000_000)).toBe(3_000_000_000);
    expect(kommoReferenceSchema.safeParse(-1).success).toBe(false);
    expect(kommoReferenceSchema.safeParse(2 ** 53).success).toBe(false);
  });

  it("is what every reader of an id accepts: webhooks, API answers, jobs, the backfill scope, the widget and the dashboard", () => {
    const id = 3_000_000_000;
    const delivery = parseWebhookBody(`leads[status][0][id]=${id}&leads[status][0][status_id]=${id + 1}&leads[status][0][pipeline_id]=${id + 2}&account[id]=${id + 3}`);
    expect(delivery).toMatchObject({ ok: true, delivery: { kommoAccountId: id + 3, leads: [{ kind: "status_lead", leadId: id }] } });
    expect(parseWebhookBody(`contacts[update][0][id]=${id}&account[id]=5`)).toMatchObject({ ok: true, delivery: { contacts: [{ contactId: id }] } });

    const lead = leadSchema.parse({ id, status_id: id + 1, pipeline_id: id + 2, group_id: 0, created_by: 0, created_at: 1, updated_at: 2, _embedded: { contacts: [{ id: id + 4, is_main: true }] } });
    expect(lead).toMatchObject({ id, status_id: id + 1, pipeline_id: id + 2, _embedded: { contacts: [{ id: id + 4 }] } });
    expect(leadSchema.safeParse({ ...lead, id: 2 ** 53 }).success).toBe(false);

    expect(syncLeadJobSchema.parse({ accountId: "6f1c2a8e-0d3b-4c55-9e1a-7b2f3c4d5e60", leadId: id }).leadId).toBe(id);
    expect(syncLeadJobSchema.safeParse({ accountId: "6f1c2a8e-0d3b-4c55-9e1a-7b2f3c4d5e60", leadId: 2 ** 53 }).success).toBe(false);
    expect(backfillScopeSchema.parse({ pipelineIds: [id] })).toEqual({ pipelineIds: [id] });
    expect(leadIdSchema.parse(String(id))).toBe(id);
    expect(leadIdSchema.safeParse("9007199254740992").success).toBe(false);
    const query = parseLogQuery({ lead: String(id) });
    expect(query.success && query.data.filters.leadId).toBe(id);
    expect(parseLogQuery({ lead: "9007199254740992" }).success).toBe(false);
  });
});
