// Klaviyo answers -> typed errors with `retryable` and a message a person can act on.
import { describe, expect, it } from "vitest";
import {
  errorFromResponse,
  keyHint,
  KlaviyoDuplicateProfileError,
  KlaviyoInvalidInputError,
  KlaviyoRateLimitError,
  KlaviyoScopeError,
  networkError,
  parseErrorBody,
  parseRetryAfter,
} from "@/lib/integrations/klaviyo/errors";
import { OPERATIONS } from "@/lib/integrations/klaviyo/operations";

const klaviyoError = (status: number, code: string, detail: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ errors: [{ id: "e1", status, code, title: "t", detail, source: { pointer: "/data/" }, links: {}, meta: {}, ...extra }] });

const map = (operation: (typeof OPERATIONS)[keyof typeof OPERATIONS], status: number, bodyText: string, headers: Record<string, string> = {}) =>
  errorFromResponse({ operation, status, headers: new Headers(headers), bodyText, keyHint: "pk_…9f3a" });

describe("Klaviyo error mapping", () => {
  it("401: invalid key, not retryable, names the key by its hint only", () => {
    const error = map(OPERATIONS.getAccounts, 401, klaviyoError(401, "not_authenticated", "Missing or invalid private key."));
    expect(error).toMatchObject({ kind: "invalid_key", retryable: false, status: 401, operation: "get_accounts" });
    expect(error.message).toBe(
      "Klaviyo rejected the API key pk_…9f3a (wrong, revoked or not a private key): paste a current private key in the widget settings",
    );
  });

  it("403 from Klaviyo: the scope the operation needs", () => {
    const error = map(OPERATIONS.createEvent, 403, klaviyoError(403, "permission_denied", "You do not have permission to perform this action."));
    expect(error).toBeInstanceOf(KlaviyoScopeError);
    expect(error).toMatchObject({ kind: "missing_scope", retryable: false, scopes: ["events:write"] });
    expect(error.message).toContain("Klaviyo key pk_…9f3a lacks the events:write scope needed to create events");
  });

  it("403 on an operation with two scopes names both", () => {
    const error = map(OPERATIONS.addProfilesToList, 403, klaviyoError(403, "permission_denied", "no"));
    expect(error.message).toContain("lacks one of the scopes lists:write, profiles:write needed to add profiles to a list");
  });

  it("403 with an HTML body (Cloudflare challenge): blocked, retryable, and the HTML stays out of the message", () => {
    const html = "<!DOCTYPE html><html><title>Just a moment...</title></html>";
    const error = map(OPERATIONS.createEvent, 403, html, { "cf-mitigated": "challenge", "content-type": "text/html" });
    expect(error).toMatchObject({ kind: "blocked", retryable: true, errors: [] });
    expect(error.message).toContain("Cloudflare challenge");
    expect(error.message).not.toContain("<");
  });

  it("429: rate limited with Retry-After seconds", () => {
    const error = map(OPERATIONS.createEvent, 429, klaviyoError(429, "throttled", "Request was throttled."), { "retry-after": "7" });
    expect(error).toBeInstanceOf(KlaviyoRateLimitError);
    expect(error).toMatchObject({ kind: "rate_limited", retryable: true, retryAfterSeconds: 7 });
    expect(error.message).toBe("Klaviyo rate limit reached for create events; retry after 7 s");
  });

  it("429 without Retry-After falls back to the caller's backoff", () => {
    const error = errorFromResponse({
      operation: OPERATIONS.createEvent,
      status: 429,
      headers: new Headers(),
      bodyText: "",
      keyHint: "…",
      fallbackRetryAfterSeconds: 4,
    });
    expect(error).toMatchObject({ retryAfterSeconds: 4 });
  });

  it("409 duplicate_profile carries the other profile's id", () => {
    const body = klaviyoError(409, "duplicate_profile", "A profile already exists with one of these identifiers.", {
      meta: { duplicate_profile_id: "01DUPLICATE" },
    });
    const error = map(OPERATIONS.createOrUpdateProfile, 409, body);
    expect(error).toBeInstanceOf(KlaviyoDuplicateProfileError);
    expect(error).toMatchObject({ kind: "duplicate_profile", duplicateProfileId: "01DUPLICATE", retryable: false });
  });

  it("400: invalid input, not retryable, with Klaviyo's reason and where it points", () => {
    const body = JSON.stringify({
      errors: [
        {
          id: "e",
          status: 400,
          code: "invalid",
          title: "Invalid input.",
          detail: "Invalid phone number format (Example of a valid format: +12345678901)",
          source: { pointer: "/data/attributes/phone_number" },
        },
      ],
    });
    const error = map(OPERATIONS.createOrUpdateProfile, 400, body);
    expect(error).toBeInstanceOf(KlaviyoInvalidInputError);
    expect(error).toMatchObject({ kind: "invalid_input", retryable: false, pointer: "/data/attributes/phone_number", parameter: null });
    expect(error.message).toBe(
      "Klaviyo refused to create or update profiles: Invalid phone number format (Example of a valid format: +12345678901) (at /data/attributes/phone_number)",
    );
    const filter = map(OPERATIONS.getEvents, 400, JSON.stringify({ errors: [{ id: "e", code: "invalid", title: "Invalid input.", detail: "bad filter", source: { parameter: "filter" } }] }));
    expect(filter).toMatchObject({ parameter: "filter", pointer: null });
  });

  it("404: not found, not retryable", () => {
    const error = map(OPERATIONS.addProfilesToList, 404, klaviyoError(404, "not_found", "A list with id Xy12 does not exist."));
    expect(error).toMatchObject({ kind: "not_found", retryable: false });
    expect(error.message).toContain("A list with id Xy12 does not exist.");
  });

  it.each([500, 502, 503, 504, 408])("%s: server error, retryable", (status) => {
    const error = map(OPERATIONS.createEvent, status, "upstream connect error");
    expect(error).toMatchObject({ kind: "server_error", retryable: true, status });
  });

  it("network failures and timeouts are retryable", () => {
    const refused = networkError(OPERATIONS.createEvent, new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } }), 20_000);
    expect(refused).toMatchObject({ kind: "network", retryable: true, status: null });
    expect(refused.message).toContain("ECONNREFUSED");
    const timeout = networkError(OPERATIONS.createEvent, new DOMException("The operation was aborted due to timeout", "TimeoutError"), 1500);
    expect(timeout).toMatchObject({ kind: "timeout", retryable: true });
    expect(timeout.message).toContain("within 1.5 s");
  });
});

describe("error bodies and headers", () => {
  it("reads errors[] and tolerates anything else", () => {
    expect(parseErrorBody(klaviyoError(400, "invalid", "x"))[0]).toMatchObject({ code: "invalid", detail: "x", status: 400 });
    expect(parseErrorBody(JSON.stringify({ errors: [{ status: "429", code: "throttled" }] }))[0]!.status).toBe(429);
    expect(parseErrorBody("<html>")).toEqual([]);
    expect(parseErrorBody("")).toEqual([]);
    expect(parseErrorBody(JSON.stringify({ message: "nope" }))).toEqual([]);
  });

  it("Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("12")).toBe(12);
    expect(parseRetryAfter("0.2")).toBe(1);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
  });

  it("a key hint shows the prefix and last four characters only", () => {
    expect(keyHint("pk_abcdef0123456789abcd9f3a")).toBe("pk_…9f3a");
    expect(keyHint("short")).toBe("…");
  });
});
