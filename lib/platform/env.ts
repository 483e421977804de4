// The process configuration: every environment variable the product reads, validated once with zod.
// A missing or malformed value becomes one line naming the variable and what is expected.
import { z } from "zod";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

const DEFAULT_KLAVIYO_REVISION = "2026-07-15";
/** Klaviyo's own API: what KLAVIYO_API_BASE_URL is unless a test or staging run points it elsewhere. */
export const KLAVIYO_API_ORIGIN = "https://a.klaviyo.com";

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === "http:" || url.protocol === "https:";
      } catch {
        return false;
      }
    }, `must be an absolute http(s) URL (${what})`)
    .transform((value) => value.replace(/\/+$/, ""));

const base64Key = z
  .string()
  .trim()
  .refine((value) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(value), "must be base64")
  .refine((value) => Buffer.from(value, "base64").length === 32, {
    message: "must be 32 random bytes in base64 (generate one with: openssl rand -base64 32)",
  });

const positiveInt = (fallback: number, max: number) =>
  z.coerce
    .number({ message: "must be a whole number" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(max, `must be at most ${max}`)
    .default(fallback);

/** A Kommo user, named by the ids Kommo assigns: the account's id and the user's id in it. */
export type KommoUserIdentity = { accountId: number; userId: number };

/** "accountId:userId,accountId:userId" (Kommo's ids, e.g. "29001234:8812345"). */
const kommoUserList = optionalText.pipe(
  z
    .string()
    .transform((value, context) => {
      const users: KommoUserIdentity[] = [];
      for (const pair of value.split(",").map((item) => item.trim()).filter(Boolean)) {
        const match = /^([1-9]\d{0,14}):([1-9]\d{0,14})$/.exec(pair);
        if (!match) {
          context.addIssue({ code: "custom", message: "must be a comma-separated list of accountId:userId pairs (Kommo's ids), e.g. 29001234:8812345" });
          return z.NEVER;
        }
        users.push({ accountId: Number(match[1]), userId: Number(match[2]) });
      }
      return users;
    })
    .optional(),
);

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  APP_MODE: z.enum(["local", "production"]).optional(),
  DATABASE_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// connection URL")
      .optional(),
  ),
  APP_URL: httpUrl("the public origin of this backend, e.g. https://sync.example.com").optional(),
  PORT: positiveInt(3000, 65535),
  /** Interface the web server binds: loopback for a local run, every interface in production. */
  HOST: optionalText,
  KOMMO_CLIENT_ID: optionalText.pipe(
    z.string().regex(/^[0-9a-f-]{36}$/i, "must be the integration ID (a UUID) from Kommo").optional(),
  ),
  KOMMO_CLIENT_SECRET: optionalText.pipe(z.string().min(16, "must be the integration's secret key").optional()),
  KOMMO_REDIRECT_URI: httpUrl("the Redirect URI registered in Kommo").optional(),
  ENCRYPTION_KEY: base64Key.optional(),
  ENCRYPTION_PREVIOUS_KEYS: optionalText,
  AUTH_SECRET: optionalText.pipe(z.string().min(32, "must be at least 32 characters").optional()),
  KLAVIYO_REVISION: z
    .string()
    .trim()
    .regex(/^\d{4}-\d{2}-\d{2}(\.pre)?$/, "must be a Klaviyo revision such as 2026-07-15")
    .default(DEFAULT_KLAVIYO_REVISION),
  KOMMO_API_BASE_URL: httpUrl("test seam; leave unset in production").optional(),
  KLAVIYO_API_BASE_URL: httpUrl("test seam; leave unset in production").default(KLAVIYO_API_ORIGIN),
  /** Production accepts the two test seams above only with this set to "true" (staging against simulators). */
  ALLOW_API_BASE_OVERRIDE: optionalText
    .pipe(z.enum(["true", "false"], { message: 'must be "true" or "false"' }).optional())
    .transform((value) => value === "true"),
  /** Honoured to the second: each account's poll is queued for its own due time. */
  KLAVIYO_ACTIVITY_POLL_SECONDS: positiveInt(60, 86_400),
  /** The sandbox page of `npm run demo`, linked from the home page while the demo runs. */
  SANDBOX_URL: httpUrl("the sandbox page of npm run demo; set by the demo").optional(),
  WORKER_CONCURRENCY: positiveInt(5, 100),
  /** A sync job running longer than this is presumed dead (its worker killed) and retried. */
  SYNC_JOB_TIMEOUT_SECONDS: positiveInt(60, 3600),
  /** How often a worker looks for jobs of dead workers and prunes finished ones. */
  QUEUE_MAINTENANCE_SECONDS: positiveInt(30, 3600),
  /** Kommo users (account id and user id) who see every account in the dashboard: the people who run this backend. */
  OPERATOR_KOMMO_USERS: kommoUserList,
  /** Retired (operators were once named by e-mail, which any Kommo admin can give a user); read only to warn. */
  OPERATOR_EMAILS: optionalText,
  /** Bearer token of GET /api/metrics; unset turns the endpoint off. */
  METRICS_TOKEN: optionalText.pipe(z.string().min(24, "must be at least 24 characters (e.g. openssl rand -hex 24)").optional()),
  /** Sync-log rows older than this are pruned daily; failures nobody has dealt with are kept. */
  SYNC_LOG_RETENTION_DAYS: positiveInt(30, 3650),
  /**
   * How many reverse proxies in front of the app append to X-Forwarded-For. 0 (the default): the
   * header is ignored (anyone can write it) and every unauthenticated caller shares one budget.
   */
  TRUSTED_PROXY_HOPS: optionalText
    .pipe(z.string().regex(/^[0-9]$/, "must be a whole number from 0 to 9").optional())
    .transform((value) => (value === undefined ? 0 : Number(value))),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"]).optional(),
});

export type Env = Omit<
  z.infer<typeof envSchema>,
  "APP_URL" | "KOMMO_REDIRECT_URI" | "ENCRYPTION_KEY" | "AUTH_SECRET" | "LOG_FORMAT" | "ENCRYPTION_PREVIOUS_KEYS" | "HOST" | "OPERATOR_KOMMO_USERS"
> & {
  OPERATOR_KOMMO_USERS: KommoUserIdentity[];
  HOST: string;
  APP_URL: string;
  KOMMO_REDIRECT_URI: string;
  ENCRYPTION_KEY: string;
  ENCRYPTION_PREVIOUS_KEYS: string[];
  AUTH_SECRET: string;
  LOG_FORMAT: "json" | "pretty";
  production: boolean;
};

/** Variables that production must set explicitly; outside production some get safe local defaults. */
const REQUIRED_IN_PRODUCTION = ["APP_URL", "KOMMO_CLIENT_ID", "KOMMO_CLIENT_SECRET", "ENCRYPTION_KEY", "AUTH_SECRET"] as const;
/** Needed in every mode: the launcher generates them into .data/ for local runs before this check. */
const ALWAYS_REQUIRED = ["ENCRYPTION_KEY", "AUTH_SECRET"] as const;

export function parseEnv(source: Record<string, string | undefined>): Env {
  // The mode first, from the raw values, so that problems of every kind are reported together.
  // The launcher decides it once and passes APP_MODE to the processes it starts, because
  // `next start` forces NODE_ENV=production inside the web process even for a local run.
  const production = source.APP_MODE ? source.APP_MODE === "production" : source.NODE_ENV === "production";
  const required = production ? REQUIRED_IN_PRODUCTION : ALWAYS_REQUIRED;
  const missing = required.filter((name) => !source[name]?.trim());
  const problems = missing.map(
    (name) => `${name} is required${production ? " in production" : ""} (it is not set); see README, Configuration`,
  );

  const result = envSchema.safeParse(source);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = String(issue.path[0] ?? "environment");
      if (!missing.includes(name as (typeof missing)[number])) problems.push(`${name} ${issue.message}`);
    }
  }
  if (result.success && production && !result.data.ALLOW_API_BASE_OVERRIDE) {
    for (const name of overriddenApiBases(result.data)) {
      problems.push(`${name} is a test seam and is refused in production: unset it, or also set ALLOW_API_BASE_OVERRIDE=true (staging against simulators)`);
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  const parsed = result.data;
  const appUrl = parsed.APP_URL ?? `http://localhost:${parsed.PORT}`;
  const previousKeys = (parsed.ENCRYPTION_PREVIOUS_KEYS ?? "")
    .split(",")
    .map((key) => key.trim())
    .filter(Boolean);
  for (const key of previousKeys) {
    if (!base64Key.safeParse(key).success) {
      throw new ConfigError(["ENCRYPTION_PREVIOUS_KEYS must be a comma-separated list of base64 keys of 32 bytes each"]);
    }
  }
  return {
    ...parsed,
    APP_URL: appUrl,
    HOST: parsed.HOST ?? (production ? "0.0.0.0" : "127.0.0.1"),
    KOMMO_REDIRECT_URI: parsed.KOMMO_REDIRECT_URI ?? `${appUrl}/api/kommo/oauth/callback`,
    ENCRYPTION_KEY: parsed.ENCRYPTION_KEY!,
    ENCRYPTION_PREVIOUS_KEYS: previousKeys,
    AUTH_SECRET: parsed.AUTH_SECRET!,
    LOG_FORMAT: parsed.LOG_FORMAT ?? (production ? "json" : "pretty"),
    OPERATOR_KOMMO_USERS: parsed.OPERATOR_KOMMO_USERS ?? [],
    production,
  };
}

/** The test seams that send Kommo or Klaviyo calls somewhere other than the real APIs. */
function overriddenApiBases(env: Pick<Env, "KOMMO_API_BASE_URL" | "KLAVIYO_API_BASE_URL">): ("KOMMO_API_BASE_URL" | "KLAVIYO_API_BASE_URL")[] {
  return [
    ...(env.KOMMO_API_BASE_URL ? (["KOMMO_API_BASE_URL"] as const) : []),
    ...(env.KLAVIYO_API_BASE_URL !== KLAVIYO_API_ORIGIN ? (["KLAVIYO_API_BASE_URL"] as const) : []),
  ];
}

/**
 * What every process of the app warns about when it starts (web and worker log these lines): a
 * production run whose Kommo or Klaviyo calls go to an overridden address, and a retired variable.
 */
export function startupWarnings(env: Env): string[] {
  const warnings: string[] = [];
  const targets = env.production ? overriddenApiBases(env).map((name) => `${name === "KOMMO_API_BASE_URL" ? "Kommo" : "Klaviyo"} calls go to ${env[name]}`) : [];
  if (targets.length > 0) {
    warnings.push(`ALLOW_API_BASE_OVERRIDE=true in production: ${targets.join(", ")}, with the tokens and keys they carry. Only for staging against simulators.`);
  }
  if (env.OPERATOR_EMAILS) {
    warnings.push("OPERATOR_EMAILS is no longer read: name the dashboard's operators by Kommo account and user id in OPERATOR_KOMMO_USERS (README, Operator and admin dashboard)");
  }
  return warnings;
}

/**
 * SYNC_JOB_TIMEOUT_SECONDS alone, for `db:migrate`, which creates the queues with it and must run
 * without the app's secrets.
 */
export function syncJobTimeoutSeconds(source: Record<string, string | undefined> = process.env): number {
  const parsed = envSchema.shape.SYNC_JOB_TIMEOUT_SECONDS.safeParse(source.SYNC_JOB_TIMEOUT_SECONDS);
  if (!parsed.success) throw new ConfigError([`SYNC_JOB_TIMEOUT_SECONDS ${parsed.error.issues[0]?.message}`]);
  return parsed.data;
}

let cached: Env | undefined;

/** The validated configuration of this process (parsed on first use). */
export function getEnv(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** For tests that change process.env between cases. */
export function resetEnvForTests() {
  cached = undefined;
}

/** The Kommo integration credentials, or a clear error where the integration is not registered yet. */
export function requireKommoCredentials(env: Env = getEnv()) {
  if (!env.KOMMO_CLIENT_ID || !env.KOMMO_CLIENT_SECRET) {
    throw new ConfigError([
      "KOMMO_CLIENT_ID and KOMMO_CLIENT_SECRET are not set: register the integration in Kommo first (README, Register in Kommo)",
    ]);
  }
  return { clientId: env.KOMMO_CLIENT_ID, clientSecret: env.KOMMO_CLIENT_SECRET, redirectUri: env.KOMMO_REDIRECT_URI };
}
