// Digital Pipeline hook bodies: the documented JSON and the same keys form-encoded read alike;
// anything else is refused with a message that says where.
import { describe, expect, it } from "vitest";
import { hookEncodingOf, parseDigitalPipelineBody } from "@/lib/integrations/kommo/dp-payload";
import { digitalPipelineHook, encodeDigitalPipelineHook } from "../simulators/kommo";
import { digitalPipelineUniqueId } from "@/lib/features/digital-pipeline/mapping";

const documented = {
  event: { type: 14, type_code: "lead_status_changed", data: { id: 123123, element_type: 2, status_id: 654321, pipeline_id: 123456 }, time: 1491300016 },
  action: { settings: { widget: { settings: { event_name: "CRM Demo Booked", list_id: "LsDemo1", kss_token: "secret-token" } } } },
  subdomain: "my_company",
  account_id: 30441694,
};

const expected = {
  kommoAccountId: 30441694,
  subdomain: "my_company",
  type: 14,
  typeCode: "lead_status_changed",
  acts: true,
  leadId: 123123,
  elementType: 2,
  statusId: 654321,
  pipelineId: 123456,
  time: 1491300016,
  settings: { eventName: "CRM Demo Booked", listId: "LsDemo1", token: "secret-token" },
};

describe("Digital Pipeline hook bodies", () => {
  it("reads the documented JSON body and the same keys form-encoded alike", () => {
    expect(parseDigitalPipelineBody(JSON.stringify(documented), "json")).toEqual({ ok: true, hook: expected });
    const form = encodeDigitalPipelineHook(documented, "form");
    expect(form.body).toContain("event%5Bdata%5D%5Bid%5D=123123");
    expect(parseDigitalPipelineBody(form.body, "form")).toEqual({ ok: true, hook: expected });
  });

  it("takes Kommo ids past 32 bits in both encodings, and refuses those past 2^53 - 1", () => {
    const big = 2 ** 31 + 7;
    const body = { ...documented, account_id: big, event: { ...documented.event, data: { ...documented.event.data, id: big + 1 } } };
    for (const encoding of ["json", "form"] as const) {
      const raw = encoding === "json" ? JSON.stringify(body) : encodeDigitalPipelineHook(body, "form").body;
      const parsed = parseDigitalPipelineBody(raw, encoding);
      expect(parsed.ok && [parsed.hook.kommoAccountId, parsed.hook.leadId], encoding).toEqual([big, big + 1]);
    }
    const tooLarge = encodeDigitalPipelineHook({ ...documented, account_id: "9007199254740993" }, "form").body;
    const refused = parseDigitalPipelineBody(tooLarge, "form");
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.message).toMatch(/account_id/);
  });

  it("acts on types 1, 14 and 15 only", () => {
    for (const [type, acts] of [[1, true], [14, true], [15, true], [16, false], [17, false], [20, false]] as const) {
      const body = JSON.stringify({ ...documented, event: { ...documented.event, type } });
      const parsed = parseDigitalPipelineBody(body, "json");
      expect(parsed.ok && parsed.hook.acts, `type ${type}`).toBe(acts);
    }
  });

  it("refuses bodies that are not a hook, saying where", () => {
    const cases: [string, "json" | "form", RegExp][] = [
      ["{", "json", /not valid JSON/],
      ["[]", "json", /body|event/],
      [JSON.stringify({ ...documented, account_id: "x" }), "json", /account_id/],
      [JSON.stringify({ ...documented, event: { ...documented.event, data: { id: -1 } } }), "json", /event\.data\.id/],
      [JSON.stringify({ ...documented, event: { ...documented.event, time: 12 } }), "json", /event\.time/],
      ["event[type]=14&account_id=5", "form", /event\./],
      ["__proto__[x]=1&account_id=5", "form", /event/],
    ];
    for (const [body, encoding, message] of cases) {
      const parsed = parseDigitalPipelineBody(body, encoding);
      expect(parsed.ok, body).toBe(false);
      if (!parsed.ok) expect(parsed.message).toMatch(message);
    }
  });

  it("knows the two content types and no other", () => {
    expect(hookEncodingOf("application/json; charset=utf-8")).toBe("json");
    expect(hookEncodingOf("application/x-www-form-urlencoded")).toBe("form");
    expect(hookEncodingOf("text/plain")).toBeNull();
    expect(hookEncodingOf(null)).toBeNull();
  });

  it("gives the simulator's hook a deterministic unique_id per (account, lead, status, time, event name)", () => {
    const account = { id: 7, subdomain: "acme" } as Parameters<typeof digitalPipelineHook>[0];
    const lead = { id: 9, status_id: 11, pipeline_id: 12, updated_at: 1_700_000_000 } as Parameters<typeof digitalPipelineHook>[1];
    const hook = digitalPipelineHook(account, lead, { settings: { event_name: "Demo" } });
    const parsed = parseDigitalPipelineBody(JSON.stringify(hook), "json");
    expect(parsed.ok).toBe(true);
    const base = { leadId: 9, statusId: 11, time: 1_700_000_000, eventName: "Demo" };
    expect(digitalPipelineUniqueId(7, base)).toBe(digitalPipelineUniqueId(7, { ...base }));
    expect(digitalPipelineUniqueId(7, base)).not.toBe(digitalPipelineUniqueId(7, { ...base, eventName: "Quote" }));
    expect(digitalPipelineUniqueId(7, base)).not.toBe(digitalPipelineUniqueId(7, { ...base, time: base.time + 1 }));
    expect(digitalPipelineUniqueId(7, base)).not.toBe(digitalPipelineUniqueId(8, base));
  });
});
