// AES-256-GCM for secrets at rest (Kommo tokens, Klaviyo keys). Each envelope names the key that
// sealed it, so a new ENCRYPTION_KEY can be rolled out while old envelopes still open with a
// previous key (ENCRYPTION_PREVIOUS_KEYS) until they are re-sealed.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptionError";
  }
}

export type KeyRing = {
  current: { id: string; key: Buffer };
  byId: Map<string, Buffer>;
};

/** Short, stable identifier of a key: not secret, not reversible. */
export function keyId(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

export function buildKeyRing(currentBase64: string, previousBase64: string[] = []): KeyRing {
  const decode = (value: string) => {
    const key = Buffer.from(value, "base64");
    if (key.length !== 32) throw new Error("an encryption key must be 32 bytes");
    return key;
  };
  const current = decode(currentBase64);
  const byId = new Map<string, Buffer>();
  for (const key of [current, ...previousBase64.map(decode)]) byId.set(keyId(key), key);
  return { current: { id: keyId(current), key: current }, byId };
}

/**
 * Seal `plaintext`. `context` (e.g. "account:<id>:refresh_token") is authenticated but not stored,
 * so an envelope copied into another row or column does not open there.
 */
export function seal(ring: KeyRing, plaintext: string, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", ring.current.key, iv);
  cipher.setAAD(Buffer.from(`${VERSION}.${ring.current.id}.${context}`));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, ring.current.id, iv.toString("base64url"), ciphertext.toString("base64url"), tag.toString("base64url")].join(".");
}

export function open(ring: KeyRing, envelope: string, context: string): string {
  const parts = envelope.split(".");
  if (parts.length !== 5 || parts[0] !== VERSION) throw new DecryptionError("not a sealed secret");
  const [, id, ivText, ciphertextText, tagText] = parts as [string, string, string, string, string];
  const key = ring.byId.get(id);
  if (!key) throw new DecryptionError(`sealed with unknown key ${id}; add it to ENCRYPTION_PREVIOUS_KEYS`);
  const iv = Buffer.from(ivText, "base64url");
  const tag = Buffer.from(tagText, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new DecryptionError("malformed sealed secret");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAAD(Buffer.from(`${VERSION}.${id}.${context}`));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ciphertextText, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new DecryptionError("sealed secret failed authentication (tampered, or wrong key or context)");
  }
}

/** True when the envelope was sealed with an older key and should be re-sealed. */
export function needsResealing(ring: KeyRing, envelope: string): boolean {
  return envelope.split(".")[1] !== ring.current.id;
}
