// Parsing Kommo's form-encoded CRM webhook bodies into the changes we record.
import { describe, expect, it } from "vitest";
import { parseWebhookBody } from "@/lib/integrations/kommo/webhook-payload";
import { encodeKommoForm } from "../simulators/kommo/webhooks";

const statusDelivery = (overrides: Record<string, string | number> = {}) =>
  encodeKommoForm({
    leads: {
      status: [
        {
          id: 15318175,
          name: "Deal",
          status_id: 142,
          old_status_id: 67548607,
          price: 1000,
          last_modified: 1726572758,
          pipeline_id: 8572511,
          account_id: 1312313,
          custom_fields: [{ id: 1118164, name: "Benefit", values: [{ value: 1000 }] }],
          created_at: 1726572752,
          updated_at: 1726572758,
          ...overrides,
        },
      ],
    },
    account: { subdomain: "test", id: 1312313, _links: { self: "https://test.kommo.com" } },
  });

function parsed(body: string) {
  const result = parseWebhookBody(body);
  if (!result.ok) throw new Error(result.message);
  return result.delivery;
}

describe("Kommo webhook body", () => {
  it("turns a status change into one lead change with Kommo's change time", () => {
    const delivery = parsed(statusDelivery());
    expect(delivery.kommoAccountId).toBe(1312313);
    expect(delivery.leads).toEqual([
      {
        kind: "status_lead",
        leadId: 15318175,
        changedAt: new Date(1726572758 * 1000),
        payload: expect.objectContaining({ id: "15318175", status_id: "142", old_status_id: "67548607" }),
        dedupeKey: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
  });

  it("gives the same delivery the same key, and a different change a different key", () => {
    const key = (body: string) => parsed(body).leads[0]!.dedupeKey;
    expect(key(statusDelivery())).toBe(key(statusDelivery()));
    // The same content with literal brackets is the same delivery.
    expect(key(decodeURIComponent(statusDelivery()))).toBe(key(statusDelivery()));
    expect(key(statusDelivery({ updated_at: 1726572759 }))).not.toBe(key(statusDelivery()));
    expect(key(statusDelivery({ status_id: 143 }))).not.toBe(key(statusDelivery()));
    const asUpdate = statusDelivery().replaceAll("%5Bstatus%5D", "%5Bupdate%5D");
    expect(key(asUpdate)).not.toBe(key(statusDelivery()));
  });

  it("falls back to last_modified when updated_at is absent, and to null for a delete", () => {
    const legacy = encodeKommoForm({ leads: { update: [{ id: 7, last_modified: 1700000000 }] }, account: { id: 5 } });
    expect(parsed(legacy).leads[0]!.changedAt).toEqual(new Date(1700000000 * 1000));
    const deleted = encodeKommoForm({ leads: { delete: [{ id: 7, status_id: 142, pipeline_id: 3 }] }, account: { id: 5 } });
    expect(parsed(deleted).leads[0]).toMatchObject({ kind: "delete_lead", leadId: 7, changedAt: null });
  });

  it("reads lists beyond qs's default array limit and sparse indexes", () => {
    const items = Object.fromEntries(Array.from({ length: 30 }, (_, n) => [String(n * 2), { id: 100 + n }]));
    const delivery = parsed(encodeKommoForm({ leads: { update: items }, account: { id: 5 } }));
    expect(delivery.leads.map((change) => change.leadId)).toEqual(Array.from({ length: 30 }, (_, n) => 100 + n));
  });

  it("records contact updates and tells companies apart, which share the contacts section", () => {
    const body = encodeKommoForm({
      contacts: {
        update: [
          { id: 11, type: "contact", updated_at: 1700000000, custom_fields: [{ id: 1, code: "EMAIL", values: [{ value: "a@b.c", enum: 5 }] }] },
          { id: 12, type: "company", updated_at: 1700000000 },
        ],
      },
      account: { id: 5 },
    });
    const delivery = parsed(body);
    expect(delivery.contacts).toEqual([
      { kind: "update_contact", contactId: 11, changedAt: new Date(1700000000 * 1000), payload: expect.objectContaining({ id: "11" }), dedupeBase: expect.any(String) },
    ]);
    expect(delivery.companies).toEqual([12]);
    expect(delivery.leads).toEqual([]);
  });

  it("ignores sections we do not record", () => {
    const delivery = parsed("task[add][0][id]=1&unsorted[add][0][uid]=x&account[id]=5");
    expect(delivery).toEqual({ kommoAccountId: 5, leads: [], contacts: [], companies: [] });
  });

  it("rejects bodies that are not Kommo deliveries", () => {
    for (const body of ["", "hello", "account[id]=x", "leads[status][0][name]=no-id&account[id]=1", "leads[status][0][id]=1", "account[id]=0", "account[id]=9007199254740992", "leads[status][0][id]=12345678901234567&account[id]=1", `account[id]=1&leads[update][0][id]=1&leads[update][0][updated_at]=soon`]) {
      expect(parseWebhookBody(body).ok, body).toBe(false);
    }
  });

  it("is not fooled by prototype keys", () => {
    const result = parseWebhookBody("__proto__[polluted]=1&constructor[prototype][x]=1&account[id]=5");
    expect(result.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
