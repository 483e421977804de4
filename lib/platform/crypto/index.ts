// The process-wide key ring from the environment, and seal/open bound to it.
import { getEnv } from "@/lib/platform/env";
import { buildKeyRing, needsResealing, open, seal, type KeyRing } from "./secret-box";

export { DecryptionError } from "./secret-box";

let ring: { keys: string; ring: KeyRing } | undefined;

/** Built once per set of keys, so that a changed configuration (a rotation in a test) takes effect. */
function keyRing(): KeyRing {
  const env = getEnv();
  const keys = [env.ENCRYPTION_KEY, ...(env.ENCRYPTION_PREVIOUS_KEYS ?? [])].join(",");
  if (ring?.keys !== keys) ring = { keys, ring: buildKeyRing(env.ENCRYPTION_KEY, env.ENCRYPTION_PREVIOUS_KEYS) };
  return ring.ring;
}

export const encryptSecret = (plaintext: string, context: string) => seal(keyRing(), plaintext, context);
export const decryptSecret = (envelope: string, context: string) => open(keyRing(), envelope, context);
export const isSealedWithOldKey = (envelope: string) => needsResealing(keyRing(), envelope);
