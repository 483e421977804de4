// The contact's consent status from what Klaviyo reports, and the opt-in box's value as Kommo sends it.
import { describe, expect, it } from "vitest";
import { optInBoxValue } from "@/lib/features/consent/opt-in";
import { statusOfConsent, statusOfEmailEvent, fieldLanguage, STATUS_LABELS, CONSENT_STATUSES } from "@/lib/features/consent/status";

const consent = (value: string, canReceiveEmail = true, suppressionReasons: string[] = []) => ({ consent: value, canReceiveEmail, suppressionReasons });

describe("consent status", () => {
  it("reads the profile's email marketing: a global suppression outranks the consent string", () => {
    expect(statusOfConsent(consent("SUBSCRIBED"))).toBe("subscribed");
    expect(statusOfConsent(consent("NEVER_SUBSCRIBED"))).toBe("not_subscribed");
    expect(statusOfConsent(consent("UNSUBSCRIBED", false, ["UNSUBSCRIBE"]))).toBe("unsubscribed");
    expect(statusOfConsent(consent("SUBSCRIBED", false, ["HARD_BOUNCE"]))).toBe("bounced");
    expect(statusOfConsent(consent("SUBSCRIBED", false, ["INVALID_EMAIL"]))).toBe("bounced");
    expect(statusOfConsent(consent("SUBSCRIBED", false, ["SPAM_COMPLAINT"]))).toBe("spam_complaint");
    expect(statusOfConsent(consent("SUBSCRIBED", false, ["USER_SUPPRESSED"]))).toBe("suppressed");
    // Suppressed for a reason this product does not know yet: still not emailable.
    expect(statusOfConsent(consent("SUBSCRIBED", false, []))).toBe("suppressed");
  });

  it("takes the three consent events and nothing else", () => {
    expect(statusOfEmailEvent("Unsubscribed")).toBe("unsubscribed");
    expect(statusOfEmailEvent("Bounced Email")).toBe("bounced");
    expect(statusOfEmailEvent("marked email as spam")).toBe("spam_complaint");
    expect(statusOfEmailEvent("Opened Email")).toBeNull();
    expect(statusOfEmailEvent("Unsubscribed from List")).toBeNull();
  });

  it("names every status in each language of the widget", () => {
    for (const labels of Object.values(STATUS_LABELS)) expect(Object.keys(labels).sort()).toEqual([...CONSENT_STATUSES].sort());
    expect(fieldLanguage("es_ES")).toBe("es");
    expect(fieldLanguage("pt")).toBe("pt");
    expect(fieldLanguage("ru")).toBe("en");
    expect(fieldLanguage(null)).toBe("en");
  });

  it("reads the opt-in checkbox as the API (true, false) and webhooks (1, 0) send it", () => {
    const contact = (value: unknown) => ({ custom_fields_values: [{ field_id: 7, values: [{ value: value as boolean }] }] });
    expect(optInBoxValue(contact(true), 7)).toBe(true);
    expect(optInBoxValue(contact("1"), 7)).toBe(true);
    expect(optInBoxValue(contact(false), 7)).toBe(false);
    expect(optInBoxValue(contact("0"), 7)).toBe(false);
    expect(optInBoxValue(contact(true), 8)).toBe(false);
    expect(optInBoxValue({ custom_fields_values: [] }, 7)).toBe(false);
  });
});
