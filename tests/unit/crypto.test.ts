import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildKeyRing, DecryptionError, keyId, needsResealing, open, seal } from "@/lib/platform/crypto/secret-box";

const keyA = randomBytes(32).toString("base64");
const keyB = randomBytes(32).toString("base64");

describe("secret box (AES-256-GCM)", () => {
  it("round-trips and never stores the plaintext", () => {
    const ring = buildKeyRing(keyA);
    const envelope = seal(ring, "refresh-token-123", "account:1:refresh");
    expect(envelope).not.toContain("refresh-token-123");
    expect(envelope.startsWith(`v1.${keyId(Buffer.from(keyA, "base64"))}.`)).toBe(true);
    expect(open(ring, envelope, "account:1:refresh")).toBe("refresh-token-123");
  });

  it("uses a fresh IV: the same secret seals differently each time", () => {
    const ring = buildKeyRing(keyA);
    expect(seal(ring, "same", "c")).not.toBe(seal(ring, "same", "c"));
  });

  it("rejects a tampered ciphertext, tag or IV", () => {
    const ring = buildKeyRing(keyA);
    const envelope = seal(ring, "pk_live_secret", "account:1:klaviyo");
    const parts = envelope.split(".");
    for (const index of [2, 3, 4]) {
      const bytes = Buffer.from(parts[index]!, "base64url");
      bytes[0] = bytes[0]! ^ 0x01;
      const tampered = [...parts];
      tampered[index] = bytes.toString("base64url");
      expect(() => open(ring, tampered.join("."), "account:1:klaviyo")).toThrow(DecryptionError);
    }
  });

  it("rejects an envelope moved to another context", () => {
    const ring = buildKeyRing(keyA);
    const envelope = seal(ring, "token", "account:1:access");
    expect(() => open(ring, envelope, "account:2:access")).toThrow(DecryptionError);
  });

  it("rejects the wrong key", () => {
    const envelope = seal(buildKeyRing(keyA), "token", "c");
    expect(() => open(buildKeyRing(keyB), envelope, "c")).toThrow(/unknown key/);
  });

  it("opens envelopes of a previous key after rotation, and says they need re-sealing", () => {
    const old = seal(buildKeyRing(keyA), "token", "c");
    const rotated = buildKeyRing(keyB, [keyA]);
    expect(open(rotated, old, "c")).toBe("token");
    expect(needsResealing(rotated, old)).toBe(true);
    expect(needsResealing(rotated, seal(rotated, "token", "c"))).toBe(false);
  });

  it("rejects garbage", () => {
    const ring = buildKeyRing(keyA);
    expect(() => open(ring, "not-an-envelope", "c")).toThrow(DecryptionError);
    expect(() => open(ring, "v1.x.y.z", "c")).toThrow(DecryptionError);
  });

  it("refuses keys that are not 32 bytes", () => {
    expect(() => buildKeyRing(randomBytes(16).toString("base64"))).toThrow(/32 bytes/);
  });
});
