// Key rotation: secrets sealed with an old ENCRYPTION_KEY are re-sealed by `npm run secrets:reseal`
// with the new one, so the old key can go. Sealed through the product's own functions, re-sealed by
// the real script against the test database, then opened with the new key alone.
import { spawn } from "node:child_process";
import path from "node:path";
import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { resetEnvForTests } from "@/lib/platform/env";
import { buildKeyRing, keyId, open } from "@/lib/platform/crypto/secret-box";
import { isSealedWithOldKey } from "@/lib/platform/crypto";
import { sealTokenPair } from "@/lib/integrations/kommo/tokens";
import { sealKlaviyoKey } from "@/lib/integrations/klaviyo/account-client";
import { SEALED_COLUMNS, resealSecrets } from "@/lib/reseal-secrets";

const projectRoot = path.resolve(__dirname, "../..");
const OLD_KEY = process.env.ENCRYPTION_KEY!;
const NEW_KEY = randomBytes(32).toString("base64");

afterAll(async () => {
  process.env.ENCRYPTION_KEY = OLD_KEY;
  delete process.env.ENCRYPTION_PREVIOUS_KEYS;
  resetEnvForTests();
  await db().$disconnect();
});

function useKeys(current: string, previous: string[] = []) {
  process.env.ENCRYPTION_KEY = current;
  if (previous.length > 0) process.env.ENCRYPTION_PREVIOUS_KEYS = previous.join(",");
  else delete process.env.ENCRYPTION_PREVIOUS_KEYS;
  resetEnvForTests();
}

type Plain = { id: string; access: string | null; refresh: string | null; klaviyo: string | null };

/** An account whose secrets are sealed with whatever key is current now. */
async function accountWithSecrets(secrets: { tokens: boolean; klaviyo: boolean }): Promise<Plain> {
  const id = randomUUID();
  const access = secrets.tokens ? `access-${randomBytes(12).toString("hex")}` : null;
  const refresh = secrets.tokens ? `refresh-${randomBytes(12).toString("hex")}` : null;
  const klaviyo = secrets.klaviyo ? `pk_${randomBytes(16).toString("hex")}` : null;
  await db().account.create({
    data: {
      id,
      kommoAccountId: randomInt(20_000_000, 2_000_000_000),
      subdomain: "acme",
      host: "acme.kommo.com",
      hookKey: randomBytes(24).toString("base64url"),
      ...(access && refresh ? sealTokenPair(id, { accessToken: access, refreshToken: refresh, expiresAt: new Date(Date.now() + 3_600_000) }) : {}),
      ...(klaviyo ? { klaviyoApiKeyEnc: sealKlaviyoKey(id, klaviyo), klaviyoKeyHint: "pk_…" } : {}),
    },
  });
  return { id, access, refresh, klaviyo };
}

function runScript(args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/reseal-secrets.ts", ...args], {
      cwd: projectRoot,
      env: { ...process.env, ENCRYPTION_KEY: NEW_KEY, ENCRYPTION_PREVIOUS_KEYS: OLD_KEY },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("secrets:reseal", () => {
  it("re-seals every secret sealed with the old key, in batches; afterwards the new key alone opens them all", async () => {
    useKeys(OLD_KEY);
    const accounts = [
      ...(await Promise.all(Array.from({ length: 5 }, () => accountWithSecrets({ tokens: true, klaviyo: true })))),
      await accountWithSecrets({ tokens: true, klaviyo: false }),
      await accountWithSecrets({ tokens: false, klaviyo: true }),
      await accountWithSecrets({ tokens: false, klaviyo: false }),
    ];
    // Rotation: the new key is current, the old one only reads. One more account is sealed with the new key already.
    useKeys(NEW_KEY, [OLD_KEY]);
    const fresh = await accountWithSecrets({ tokens: true, klaviyo: true });
    const freshRow = await db().account.findUniqueOrThrow({ where: { id: fresh.id } });
    const rows = await db().account.findMany({ where: { id: { in: accounts.map((account) => account.id) } } });
    expect(rows.every((row) => [row.accessTokenEnc, row.refreshTokenEnc, row.klaviyoApiKeyEnc].every((value) => value === null || isSealedWithOldKey(value)))).toBe(true);

    // Batches of 3 over 9 accounts: several batches, the last one short.
    const run = await runScript(["--batch=3"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("re-seal done: 9 accounts, 18 secrets re-sealed, 3 already current, 0 failed");
    expect(run.stdout).toContain("Kommo access tokens: 6 re-sealed");
    expect(run.stdout).toContain("Kommo refresh tokens: 6 re-sealed");
    expect(run.stdout).toContain("Klaviyo API keys: 6 re-sealed");
    expect(run.stdout.match(/^… /gm)).toHaveLength(3);
    // Never a secret, nor an envelope.
    const after = await db().account.findMany({ where: { id: { in: [...accounts, fresh].map((account) => account.id) } } });
    for (const plain of [...accounts, fresh]) {
      for (const secret of [plain.access, plain.refresh, plain.klaviyo]) if (secret) expect(run.stdout + run.stderr).not.toContain(secret);
    }
    for (const row of after) {
      for (const value of [row.accessTokenEnc, row.refreshTokenEnc, row.klaviyoApiKeyEnc]) if (value) expect(run.stdout).not.toContain(value.split(".")[3]!);
    }

    // The new key alone opens every secret, and each is what was sealed.
    const newOnly = buildKeyRing(NEW_KEY);
    for (const plain of [...accounts, fresh]) {
      const row = after.find((candidate) => candidate.id === plain.id)!;
      const expected = { accessTokenEnc: plain.access, refreshTokenEnc: plain.refresh, klaviyoApiKeyEnc: plain.klaviyo };
      for (const { column, context } of SEALED_COLUMNS) {
        const envelope = row[column];
        expect(envelope === null ? null : open(newOnly, envelope, context(plain.id)), `${plain.id} ${column}`).toBe(expected[column]);
        if (envelope) expect(envelope.split(".")[1]).toBe(keyId(Buffer.from(NEW_KEY, "base64")));
      }
    }
    // The account sealed with the new key already was left exactly as it was.
    expect(after.find((row) => row.id === fresh.id)).toEqual(freshRow);

    // Idempotent: a second run finds nothing to do and changes nothing.
    const again = await resealSecrets({ batchSize: 4 });
    expect(again).toMatchObject({ accounts: 9, current: 21, failed: [] });
    expect(Object.values(again.resealed)).toEqual([0, 0, 0]);
    expect(await db().account.findMany({ where: { id: { in: [...accounts, fresh].map((account) => account.id) } } })).toEqual(after);
  });

  it("leaves a secret whose key is gone as it is, names it (never its value) and fails the run", async () => {
    const lostKey = randomBytes(32).toString("base64");
    useKeys(lostKey);
    const orphan = await accountWithSecrets({ tokens: false, klaviyo: true });
    useKeys(NEW_KEY, [OLD_KEY]);
    const before = await db().account.findUniqueOrThrow({ where: { id: orphan.id } });

    const run = await runScript();

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`account ${orphan.id}, klaviyoApiKeyEnc: sealed with unknown key`);
    expect(run.stdout + run.stderr).not.toContain(orphan.klaviyo!);
    expect((await db().account.findUniqueOrThrow({ where: { id: orphan.id } })).klaviyoApiKeyEnc).toBe(before.klaviyoApiKeyEnc);
  });
});
