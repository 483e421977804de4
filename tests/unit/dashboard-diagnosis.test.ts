// What the first screen of an account says: the notices derived from the account and its open
// failures, most serious first, each with what it affects and how to fix it.
import { describe, expect, it } from "vitest";
import { diagnose } from "@/lib/features/dashboard/diagnosis";
import type { FailureGroup } from "@/lib/features/dashboard/health";

const healthy = {
  status: "installed" as const,
  statusReason: null,
  paused: false,
  klaviyoApiKeyEnc: "sealed",
  klaviyoKeyHint: "pk_…1a2b",
  klaviyoKeySetAt: new Date("2026-01-01T00:00:00Z"),
  webhookRegisteredAt: new Date(),
};

const group = (errorCode: string, deals: number, example: string): FailureGroup => ({ errorCode, deals, lastAt: new Date(), example });
const failures = (...groups: FailureGroup[]) => ({ openFailures: { deals: groups.reduce((sum, entry) => sum + entry.deals, 0), groups } });

const INVALID_KEY = "Klaviyo rejected the API key pk_…1a2b (wrong, revoked or not a private key): paste a current private key in the widget settings";

describe("account notices", () => {
  it("say nothing for a healthy account", () => {
    expect(diagnose(healthy, failures())).toEqual([]);
  });

  it("name a rejected Klaviyo key by its hint, count the deals, say where to fix it, and offer the replay", () => {
    const [notice, ...rest] = diagnose(healthy, failures(group("klaviyo_invalid_key", 3, INVALID_KEY)));
    expect(rest).toEqual([]);
    expect(notice).toMatchObject({ tone: "critical", kind: "invalid_key", title: "Klaviyo rejects the key pk_…1a2b", affectedDeals: 3, action: "replay_all", fixInKommo: true });
    expect(notice!.body).toMatch(/^3 deals could not be sent to Klaviyo/);
    expect(notice!.fix).toContain("Kommo → Settings → Integrations → Klaviyo Sync");
  });

  it("turn into a replay prompt once a key is saved after the failures, and stay red while the key they failed with is set", () => {
    const failedAt = new Date("2026-03-01T10:00:00Z");
    const failedGroup = { ...group("klaviyo_invalid_key", 1, INVALID_KEY), lastAt: failedAt };
    const replaced = diagnose({ ...healthy, klaviyoKeyHint: "pk_…9z8y", klaviyoKeySetAt: new Date("2026-03-01T10:05:00Z") }, failures(failedGroup));
    expect(replaced).toEqual([expect.objectContaining({ tone: "warning", kind: "key_replaced", title: "The Klaviyo key was replaced: replay the 1 deal that failed", action: "replay_all" })]);
    expect(replaced[0]!.body).toContain("pk_…9z8y");
    expect(diagnose(healthy, failures(failedGroup))[0]!.kind).toBe("invalid_key");
    // A key whose save time is unknown (saved before the product recorded it) is not taken as a replacement.
    expect(diagnose({ ...healthy, klaviyoKeySetAt: null }, failures(failedGroup))[0]!.kind).toBe("invalid_key");
  });

  it("explain a missing scope with Klaviyo's own words", () => {
    const message = "Klaviyo key pk_…1a2b lacks the events:write scope needed to create an event: add it to the key in Klaviyo (Settings > API keys)";
    const [notice] = diagnose(healthy, failures(group("klaviyo_missing_scope", 2, message)));
    expect(notice).toMatchObject({ tone: "critical", kind: "missing_scope", title: "The Klaviyo key pk_…1a2b lacks a permission" });
    expect(notice!.body).toContain("events:write");
  });

  it("tell apart 'Klaviyo not connected' before and after a key is entered", () => {
    const message = "no Klaviyo private key is set: enter one in the widget settings in Kommo";
    expect(diagnose({ ...healthy, klaviyoApiKeyEnc: null, klaviyoKeyHint: null }, failures(group("klaviyo_not_connected", 4, message)))).toEqual([
      expect.objectContaining({ tone: "critical", kind: "not_connected", affectedDeals: 4 }),
    ]);
    expect(diagnose(healthy, failures(group("klaviyo_not_connected", 4, message)))[0]).toMatchObject({ tone: "warning", kind: "key_added" });
    expect(diagnose({ ...healthy, klaviyoApiKeyEnc: null }, failures())).toEqual([expect.objectContaining({ tone: "warning", kind: "not_connected" })]);
  });

  it("put account-level problems and the most serious first", () => {
    const notices = diagnose(
      { ...healthy, status: "needs_reauth", statusReason: "Kommo rejected the refresh token", paused: true },
      failures(group("klaviyo_server_error", 1, "Klaviyo answered 503"), group("kommo_reauth_required", 2, "Kommo access revoked")),
      5,
    );
    expect(notices.map((notice) => notice.kind)).toEqual(["needs_reauth", "kommo_access", "sync_failures", "paused"]);
    expect(notices[0]!.body).toBe("Kommo rejected the refresh token");
    expect(notices.at(-1)).toMatchObject({ action: "resume", body: expect.stringContaining("5 deals are waiting") });
  });

  it("offer to register the webhook again when Kommo is not sending changes", () => {
    const [notice] = diagnose({ ...healthy, webhookRegisteredAt: null, statusReason: "Kommo did not accept the deal webhook (plan)" }, failures());
    expect(notice).toMatchObject({ kind: "webhook_missing", action: "reregister_webhook", body: "Kommo did not accept the deal webhook (plan)" });
  });

  it("say an uninstalled account is uninstalled, without asking for a Klaviyo key or a webhook", () => {
    expect(diagnose({ ...healthy, status: "disconnected", klaviyoApiKeyEnc: null, webhookRegisteredAt: null }, failures()).map((notice) => notice.kind)).toEqual(["disconnected"]);
  });
});
