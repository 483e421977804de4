import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fillLocalSecrets } from "@/lib/platform/local-secrets";

describe("local secrets", () => {
  it("generates them once, owner-readable only, and reuses them on the next start", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kss-secrets-"));
    const first = {} as NodeJS.ProcessEnv;
    expect(fillLocalSecrets(dir, first)).toEqual(["ENCRYPTION_KEY", "AUTH_SECRET"]);
    expect(Buffer.from(first.ENCRYPTION_KEY!, "base64")).toHaveLength(32);
    expect(first.AUTH_SECRET!.length).toBeGreaterThanOrEqual(32);
    const file = path.join(dir, "secrets.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const second = {} as NodeJS.ProcessEnv;
    fillLocalSecrets(dir, second);
    expect(second).toEqual(first);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(first);
  });

  it("never overrides what the operator set", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kss-secrets-"));
    const environment = { ENCRYPTION_KEY: "operator-key", AUTH_SECRET: "operator-secret" } as unknown as NodeJS.ProcessEnv;
    expect(fillLocalSecrets(dir, environment)).toEqual([]);
    expect(environment).toEqual({ ENCRYPTION_KEY: "operator-key", AUTH_SECRET: "operator-secret" });
  });
});
