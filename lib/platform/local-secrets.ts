// Secrets for a local run where the operator has set none: generated once into .data/secrets.json
// (readable only by the owner) so that encrypted data stays readable across restarts. Production
// must set ENCRYPTION_KEY and AUTH_SECRET itself; lib/env refuses to start without them there.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

const secretsFile = z.object({ ENCRYPTION_KEY: z.string(), AUTH_SECRET: z.string() });
export type LocalSecrets = z.infer<typeof secretsFile>;

function generate(): LocalSecrets {
  return { ENCRYPTION_KEY: randomBytes(32).toString("base64"), AUTH_SECRET: randomBytes(32).toString("base64url") };
}

/**
 * Fill ENCRYPTION_KEY and AUTH_SECRET of `environment` from .data/secrets.json, creating it if needed.
 * Returns the names it filled (for the warning), none when both were already set.
 */
export function fillLocalSecrets(dataDir: string, environment: NodeJS.ProcessEnv): string[] {
  const missing = (["ENCRYPTION_KEY", "AUTH_SECRET"] as const).filter((name) => !environment[name]);
  if (missing.length === 0) return [];
  const file = path.join(dataDir, "secrets.json");
  let secrets: LocalSecrets;
  try {
    secrets = secretsFile.parse(JSON.parse(readFileSync(file, "utf8")));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${file} is unreadable: ${(error as Error).message}`);
    mkdirSync(dataDir, { recursive: true });
    secrets = generate();
    try {
      writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: "wx" });
    } catch (writeError) {
      // Another process created it first: use theirs so that both agree.
      if ((writeError as NodeJS.ErrnoException).code !== "EEXIST") throw writeError;
      secrets = secretsFile.parse(JSON.parse(readFileSync(file, "utf8")));
    }
  }
  for (const name of missing) environment[name] = secrets[name];
  return missing;
}
