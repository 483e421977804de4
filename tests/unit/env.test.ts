import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv, startupWarnings } from "@/lib/platform/env";

const key = Buffer.alloc(32, 1).toString("base64");
const production = {
  NODE_ENV: "production",
  APP_URL: "https://sync.example.com/",
  KOMMO_CLIENT_ID: "0b0123f4-5678-4abc-9def-0123456789ab",
  KOMMO_CLIENT_SECRET: "a-very-secret-client-secret",
  ENCRYPTION_KEY: key,
  AUTH_SECRET: "x".repeat(40),
  DATABASE_URL: "postgresql://app:app@db:5432/app",
};

function problems(source: Record<string, string | undefined>): string[] {
  try {
    parseEnv(source);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("environment validation", () => {
  it("accepts a complete production configuration and derives defaults", () => {
    const env = parseEnv(production);
    expect(env.production).toBe(true);
    expect(env.APP_URL).toBe("https://sync.example.com");
    expect(env.KOMMO_REDIRECT_URI).toBe("https://sync.example.com/api/kommo/oauth/callback");
    expect(env.KLAVIYO_REVISION).toBe("2026-07-15");
    expect(env.KLAVIYO_API_BASE_URL).toBe("https://a.klaviyo.com");
    expect(env.KLAVIYO_ACTIVITY_POLL_SECONDS).toBe(60);
    expect(env.HOST).toBe("0.0.0.0");
    expect(env.LOG_FORMAT).toBe("json");
  });

  it("names every variable production is missing, one line each", () => {
    const lines = problems({ NODE_ENV: "production" });
    expect(lines).toEqual([
      "APP_URL is required in production (it is not set); see README, Configuration",
      "KOMMO_CLIENT_ID is required in production (it is not set); see README, Configuration",
      "KOMMO_CLIENT_SECRET is required in production (it is not set); see README, Configuration",
      "ENCRYPTION_KEY is required in production (it is not set); see README, Configuration",
      "AUTH_SECRET is required in production (it is not set); see README, Configuration",
    ]);
  });

  it("says what is wrong with a malformed value", () => {
    expect(problems({ ...production, ENCRYPTION_KEY: Buffer.alloc(16).toString("base64") })).toEqual([
      "ENCRYPTION_KEY must be 32 random bytes in base64 (generate one with: openssl rand -base64 32)",
    ]);
    expect(problems({ ...production, APP_URL: "sync.example.com" })[0]).toMatch(/^APP_URL must be an absolute http\(s\) URL/);
    expect(problems({ ...production, DATABASE_URL: "mysql://x" })[0]).toMatch(/^DATABASE_URL must be a postgresql:\/\//);
    expect(problems({ ...production, KOMMO_CLIENT_ID: "not-a-uuid" })[0]).toMatch(/^KOMMO_CLIENT_ID must be the integration ID/);
    expect(problems({ ...production, WORKER_CONCURRENCY: "lots" })[0]).toMatch(/^WORKER_CONCURRENCY must be a whole number/);
    expect(problems({ ...production, KLAVIYO_REVISION: "latest" })[0]).toMatch(/^KLAVIYO_REVISION must be a Klaviyo revision/);
    expect(problems({ ...production, ENCRYPTION_PREVIOUS_KEYS: "short" })[0]).toMatch(/^ENCRYPTION_PREVIOUS_KEYS/);
  });

  it("runs locally without Kommo credentials, on loopback, with readable logs", () => {
    const env = parseEnv({ ENCRYPTION_KEY: key, AUTH_SECRET: "y".repeat(32) });
    expect(env.production).toBe(false);
    expect(env.KOMMO_CLIENT_ID).toBeUndefined();
    expect(env.APP_URL).toBe("http://localhost:3000");
    expect(env.HOST).toBe("127.0.0.1");
    expect(env.LOG_FORMAT).toBe("pretty");
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it("still needs the secrets locally (the launcher generates them before validating)", () => {
    expect(problems({})).toEqual([
      "ENCRYPTION_KEY is required (it is not set); see README, Configuration",
      "AUTH_SECRET is required (it is not set); see README, Configuration",
    ]);
  });

  it("lets the launcher's APP_MODE win over NODE_ENV, which `next start` forces to production", () => {
    const env = parseEnv({ NODE_ENV: "production", APP_MODE: "local", ENCRYPTION_KEY: key, AUTH_SECRET: "y".repeat(32) });
    expect(env.production).toBe(false);
  });

  it("treats an empty value as unset", () => {
    expect(parseEnv({ ...production, DATABASE_URL: "", KOMMO_API_BASE_URL: undefined }).DATABASE_URL).toBeUndefined();
  });

  it("reads the dashboard's operators, metrics token and log retention", () => {
    const defaults = parseEnv(production);
    expect(defaults.OPERATOR_KOMMO_USERS).toEqual([]);
    expect(defaults.METRICS_TOKEN).toBeUndefined();
    expect(defaults.SYNC_LOG_RETENTION_DAYS).toBe(30);
    const set = parseEnv({ ...production, OPERATOR_KOMMO_USERS: " 29001234:8812345, ,31:2 ", METRICS_TOKEN: "m".repeat(24), SYNC_LOG_RETENTION_DAYS: "90" });
    expect(set.OPERATOR_KOMMO_USERS).toEqual([
      { accountId: 29_001_234, userId: 8_812_345 },
      { accountId: 31, userId: 2 },
    ]);
    expect(set.METRICS_TOKEN).toBe("m".repeat(24));
    expect(set.SYNC_LOG_RETENTION_DAYS).toBe(90);
  });

  it("says what is wrong with the dashboard's variables", () => {
    for (const value of ["ops@example.com", "29001234", "29001234:8812345, ops@example.com", "0:5", "1:-2", "1:2:3", "1:99999999999999999"]) {
      expect(problems({ ...production, OPERATOR_KOMMO_USERS: value }), value).toEqual([
        "OPERATOR_KOMMO_USERS must be a comma-separated list of accountId:userId pairs (Kommo's ids), e.g. 29001234:8812345",
      ]);
    }
    expect(problems({ ...production, METRICS_TOKEN: "short" })).toEqual(["METRICS_TOKEN must be at least 24 characters (e.g. openssl rand -hex 24)"]);
    expect(problems({ ...production, SYNC_LOG_RETENTION_DAYS: "0" })).toEqual(["SYNC_LOG_RETENTION_DAYS must be at least 1"]);
  });

  it("warns at start that OPERATOR_EMAILS, which named operators by e-mail, is no longer read", () => {
    const env = parseEnv({ ...production, OPERATOR_EMAILS: "ops@example.com" });
    expect(env.OPERATOR_KOMMO_USERS).toEqual([]);
    expect(startupWarnings(env)).toEqual([
      "OPERATOR_EMAILS is no longer read: name the dashboard's operators by Kommo account and user id in OPERATOR_KOMMO_USERS (README, Operator and admin dashboard)",
    ]);
  });

  it("refuses the API test seams in production unless ALLOW_API_BASE_OVERRIDE=true, and warns when they are allowed", () => {
    const seams = { KOMMO_API_BASE_URL: "http://127.0.0.1:4010", KLAVIYO_API_BASE_URL: "http://127.0.0.1:4020" };
    expect(problems({ ...production, ...seams })).toEqual([
      "KOMMO_API_BASE_URL is a test seam and is refused in production: unset it, or also set ALLOW_API_BASE_OVERRIDE=true (staging against simulators)",
      "KLAVIYO_API_BASE_URL is a test seam and is refused in production: unset it, or also set ALLOW_API_BASE_OVERRIDE=true (staging against simulators)",
    ]);
    expect(problems({ ...production, KOMMO_API_BASE_URL: seams.KOMMO_API_BASE_URL, ALLOW_API_BASE_OVERRIDE: "false" })).toHaveLength(1);
    expect(problems({ ...production, ALLOW_API_BASE_OVERRIDE: "yes" })).toEqual(['ALLOW_API_BASE_OVERRIDE must be "true" or "false"']);
    // Klaviyo's real address is no override.
    expect(problems({ ...production, KLAVIYO_API_BASE_URL: "https://a.klaviyo.com/" })).toEqual([]);
    expect(startupWarnings(parseEnv(production))).toEqual([]);

    const staging = parseEnv({ ...production, ...seams, ALLOW_API_BASE_OVERRIDE: "true" });
    expect(staging.KOMMO_API_BASE_URL).toBe(seams.KOMMO_API_BASE_URL);
    expect(startupWarnings(staging)).toEqual([
      "ALLOW_API_BASE_OVERRIDE=true in production: Kommo calls go to http://127.0.0.1:4010, Klaviyo calls go to http://127.0.0.1:4020, with the tokens and keys they carry. Only for staging against simulators.",
    ]);
    expect(startupWarnings(parseEnv({ ...production, KLAVIYO_API_BASE_URL: seams.KLAVIYO_API_BASE_URL, ALLOW_API_BASE_OVERRIDE: "true" }))[0]).toMatch(/: Klaviyo calls go to http:\/\/127\.0\.0\.1:4020, with/);
    // Outside production the seams are what tests are made of: no refusal, no warning.
    const local = parseEnv({ ENCRYPTION_KEY: key, AUTH_SECRET: "y".repeat(32), ...seams });
    expect(startupWarnings(local)).toEqual([]);
  });
});
