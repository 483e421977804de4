// The reason a stopped backfill shows in the widget ("The import stopped: …"): the cause, and what a
// person does about it, for each way a run ends without finishing.
import { describe, expect, it } from "vitest";
import { FAILURES_IN_A_ROW_LIMIT, SAME_FAILURE_LIMIT, stoppedReason } from "@/lib/features/backfill/failures";
import { backfillJob } from "@/lib/features/backfill/backfill-job";
import { KommoApiError, KommoNetworkError } from "@/lib/integrations/kommo/errors";
import { KlaviyoError } from "@/lib/integrations/klaviyo";

describe("why a backfill stopped", () => {
  it("gives an outage of Kommo or Klaviyo what one job's retries give it, counted across jobs", () => {
    expect(FAILURES_IN_A_ROW_LIMIT).toBe(backfillJob.queue.retryLimit! + 1);
    expect(SAME_FAILURE_LIMIT).toBeLessThan(FAILURES_IN_A_ROW_LIMIT);
    const outage = new KommoApiError(503, "Kommo answered 503 Service Unavailable.", { retryable: true });
    expect(stoppedReason(outage, { inARow: FAILURES_IN_A_ROW_LIMIT, sameMessage: FAILURES_IN_A_ROW_LIMIT })).toBe(
      `Kommo answered 503 Service Unavailable (${FAILURES_IN_A_ROW_LIMIT} attempts in a row failed, no deals imported in between). Kommo or Klaviyo may be unavailable: start the import again later`,
    );
    expect(stoppedReason(new KommoNetworkError("Kommo did not answer"), { inARow: 9, sameMessage: 1 })).toMatch(/9 attempts in a row failed.*start the import again later$/);
  });

  it("passes on what a person must fix, from Klaviyo's or Kommo's own words", () => {
    const badKey = new KlaviyoError("invalid_key", "Klaviyo rejected the private API key: enter a valid key in the widget settings", { retryable: false, status: 401, operation: "get_accounts" });
    expect(stoppedReason(badKey, { inARow: 1, sameMessage: 1 })).toBe(
      "Klaviyo rejected the private API key: enter a valid key in the widget settings. Once that is fixed, start the import again",
    );
  });

  it("names an error that keeps coming back and says who can fix it", () => {
    expect(stoppedReason(new Error("something broke\n  at line 3"), { inARow: 3, sameMessage: 3 })).toBe(
      "at line 3 (the same error 3 times in a row, no deals imported in between). Start the import again; if it stops the same way, tell Klaviyo Sync's operator",
    );
  });
});
