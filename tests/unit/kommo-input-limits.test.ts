// Every string read from Kommo is bounded before anything looks at it: the REST answers' schemas
// and the webhook body parser, one cap at a time.
import { describe, expect, it } from "vitest";
import { accountSchema, collectionSchema, contactSchema, leadSchema, pipelineSchema, problemSchema, userSchema, webhookSchema } from "@/lib/integrations/kommo/api-schemas";
import { contactEmails, contactPhones } from "@/lib/integrations/kommo/fields";
import { KOMMO_LIMITS } from "@/lib/integrations/kommo/limits";
import { parseWebhookBody } from "@/lib/integrations/kommo/webhook-payload";
import { encodeKommoForm } from "../simulators/kommo/webhooks";

const HUGE = 100_000;
const long = (length: number, char = "x") => char.repeat(length);

const contact = (overrides: Record<string, unknown> = {}) =>
  contactSchema.parse({
    id: 501,
    name: "Jane Doe",
    first_name: "Jane",
    last_name: "Doe",
    custom_fields_values: [
      { field_id: 1, field_code: "EMAIL", values: [{ value: "jane@example.com", enum_code: "WORK" }] },
      { field_id: 2, field_code: "PHONE", values: [{ value: "+1 415 555 2671", enum_code: "WORK" }] },
    ],
    ...overrides,
  });

describe("Kommo REST answers: string caps", () => {
  it("names are cut to 255 characters (contact, lead, pipeline and stage, user, account)", () => {
    const parsed = contact({ name: long(HUGE), first_name: long(HUGE), last_name: long(HUGE) });
    expect([parsed.name, parsed.first_name, parsed.last_name].map((value) => value?.length)).toEqual([255, 255, 255]);
    expect(leadSchema.parse({ id: 1, name: long(HUGE), status_id: 2, pipeline_id: 3, created_at: 0, updated_at: 0 }).name).toHaveLength(KOMMO_LIMITS.name);
    const pipeline = pipelineSchema.parse({ id: 3, name: long(HUGE), _embedded: { statuses: [{ id: 2, name: long(HUGE), pipeline_id: 3 }] } });
    expect([pipeline.name.length, pipeline._embedded.statuses[0]!.name.length]).toEqual([255, 255]);
    expect(userSchema.parse({ id: 9, name: long(HUGE) }).name).toHaveLength(255);
    expect(accountSchema.parse({ id: 1, name: long(HUGE), subdomain: "acme" }).name).toHaveLength(255);
  });

  it("a custom field value is cut to 4096 characters, so that a huge e-mail or phone reaches the mapping still too long to be one", () => {
    const parsed = contact({
      custom_fields_values: [
        { field_id: 1, field_code: "EMAIL", values: [{ value: `a@${long(HUGE, "b")}` }] },
        { field_id: 2, field_code: "PHONE", values: [{ value: long(HUGE, "1") }] },
      ],
    });
    expect(contactEmails(parsed)[0]).toHaveLength(KOMMO_LIMITS.text);
    expect(contactPhones(parsed)[0]).toHaveLength(KOMMO_LIMITS.text);
    expect(KOMMO_LIMITS.text).toBeGreaterThan(KOMMO_LIMITS.email);
  });

  it("codes (field codes, currency, country, language) are cut to 64 characters", () => {
    const parsed = contact({ custom_fields_values: [{ field_id: 1, field_code: long(HUGE), field_type: long(HUGE), values: [{ value: "x", enum_code: long(HUGE) }] }] });
    const field = parsed.custom_fields_values[0]!;
    expect([field.field_code?.length, field.field_type?.length, field.values[0]!.enum_code?.length]).toEqual([64, 64, 64]);
    const account = accountSchema.parse({ id: 1, name: "Acme", subdomain: "acme", currency: long(HUGE), country: long(HUGE) });
    expect([account.currency?.length, account.country?.length]).toEqual([64, 64]);
    expect(userSchema.parse({ id: 9, lang: long(HUGE) }).lang).toHaveLength(64);
  });

  it("a user's e-mail over 254 characters is dropped, not cut into another address", () => {
    const at254 = `${long(254 - "@example.com".length, "j")}@example.com`;
    expect(userSchema.parse({ id: 9, email: at254 }).email).toBe(at254);
    expect(userSchema.parse({ id: 9, email: `j${at254}` }).email).toBeNull();
  });

  it("a subdomain over 63 characters, a link or webhook destination over 8192, are refused", () => {
    expect(accountSchema.safeParse({ id: 1, name: "Acme", subdomain: long(63) }).success).toBe(true);
    expect(accountSchema.safeParse({ id: 1, name: "Acme", subdomain: long(64) }).success).toBe(false);
    const page = collectionSchema("contacts", contactSchema);
    expect(page.safeParse({ _links: { next: { href: `https://acme.kommo.com/?${long(8000)}` } }, _embedded: { contacts: [] } }).success).toBe(true);
    expect(page.safeParse({ _links: { next: { href: `https://acme.kommo.com/?${long(HUGE)}` } }, _embedded: { contacts: [] } }).success).toBe(false);
    expect(webhookSchema.safeParse({ id: 1, destination: `https://x/${long(HUGE)}`, settings: ["add_lead"] }).success).toBe(false);
  });

  it("an error body's title, detail and hint are cut to 4096 characters", () => {
    const problem = problemSchema.parse({ title: long(HUGE), detail: long(HUGE), hint: long(HUGE), type: long(HUGE) });
    expect([problem.title, problem.detail, problem.hint, problem.type].map((value) => value?.length)).toEqual([4096, 4096, 4096, 4096]);
  });
});

describe("Kommo webhook bodies: string caps", () => {
  const delivery = (lead: Parameters<typeof encodeKommoForm>[0], account: Record<string, string | number> = { id: 1312313, subdomain: "test" }) =>
    encodeKommoForm({ leads: { status: [{ id: 15318175, status_id: 142, pipeline_id: 8572511, ...lead }] }, account });

  it("every string of a stored item is cut to 4096 characters", () => {
    const result = parseWebhookBody(delivery({ name: long(HUGE), custom_fields: [{ id: 1, values: [{ value: long(HUGE) }] }] }));
    if (!result.ok) throw new Error(result.message);
    const payload = result.delivery.leads[0]!.payload as { name: string; custom_fields: { values: { value: string }[] }[] };
    expect(payload.name).toHaveLength(KOMMO_LIMITS.text);
    expect(payload.custom_fields[0]!.values[0]!.value).toHaveLength(KOMMO_LIMITS.text);
    // The same huge delivery twice is still the same delivery.
    const again = parseWebhookBody(delivery({ name: long(HUGE), custom_fields: [{ id: 1, values: [{ value: long(HUGE) }] }] }));
    expect(again.ok && again.delivery.leads[0]!.dedupeKey).toBe(result.delivery.leads[0]!.dedupeKey);
  });

  it("refuses an account subdomain over 63 characters", () => {
    expect(parseWebhookBody(delivery({}, { id: 1312313, subdomain: long(63) })).ok).toBe(true);
    expect(parseWebhookBody(delivery({}, { id: 1312313, subdomain: long(64) }))).toMatchObject({ ok: false, message: expect.stringContaining("account.subdomain") });
  });

  it("refuses a contact item type over 64 characters", () => {
    const body = (type: string) => encodeKommoForm({ contacts: { update: [{ id: 7, type }] }, account: { id: 1312313 } });
    expect(parseWebhookBody(body("contact")).ok).toBe(true);
    expect(parseWebhookBody(body(long(65))).ok).toBe(false);
  });
});
