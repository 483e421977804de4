// The revoke hook's signature: hex(HMAC-SHA256(client_secret, "<client_id>|<account_id>")).
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { revokeSignature, verifyRevokeSignature } from "@/lib/features/install/revoke";

const credentials = { clientId: "01d01160-d7a0-4087-b4af-6a1bb83fcd1d", clientSecret: "a-secret-of-the-integration" };

describe("revoke hook signature", () => {
  it("is the HMAC-SHA256 of client_id|account_id keyed with the client secret", () => {
    const expected = createHmac("sha256", credentials.clientSecret).update(`${credentials.clientId}|32720107`).digest("hex");
    expect(revokeSignature(credentials, "32720107")).toBe(expected);
  });

  it("accepts Kommo's signature, in either hex case", () => {
    const signature = revokeSignature(credentials, "32720107");
    expect(verifyRevokeSignature(credentials, { clientUuid: credentials.clientId, accountId: "32720107", signature })).toBe(true);
    expect(verifyRevokeSignature(credentials, { clientUuid: credentials.clientId, accountId: "32720107", signature: signature.toUpperCase() })).toBe(true);
  });

  it("rejects another account, another integration, another secret and truncated signatures", () => {
    const signature = revokeSignature(credentials, "32720107");
    expect(verifyRevokeSignature(credentials, { clientUuid: credentials.clientId, accountId: "32720108", signature })).toBe(false);
    expect(verifyRevokeSignature(credentials, { clientUuid: "someone-else", accountId: "32720107", signature })).toBe(false);
    const forged = revokeSignature({ ...credentials, clientSecret: "guess" }, "32720107");
    expect(verifyRevokeSignature(credentials, { clientUuid: credentials.clientId, accountId: "32720107", signature: forged })).toBe(false);
    expect(verifyRevokeSignature(credentials, { clientUuid: credentials.clientId, accountId: "32720107", signature: signature.slice(0, 32) })).toBe(false);
  });
});
