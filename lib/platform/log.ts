// Structured logging. JSON in production, human-readable locally; secrets are redacted by path so
// that a token or key passed in a log object never reaches the output.
import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
import { getEnv, startupWarnings, type Env } from "./env";

export const REDACTED_PATHS = [
  "accessToken",
  "refreshToken",
  "access_token",
  "refresh_token",
  "apiKey",
  "klaviyoApiKey",
  "clientSecret",
  "client_secret",
  "code",
  "password",
  "authorization",
  "headers.authorization",
  "headers.cookie",
  "headers['x-auth-token']",
  "*.accessToken",
  "*.refreshToken",
  "*.access_token",
  "*.refresh_token",
  "*.apiKey",
  "*.klaviyoApiKey",
  "*.clientSecret",
  "*.client_secret",
  "*.code",
  "*.password",
  "*.authorization",
  "*.headers.authorization",
  "*.headers.cookie",
  "*.headers['x-auth-token']",
];

export function createLogger(options: { level?: string; format?: "json" | "pretty"; destination?: NodeJS.WritableStream } = {}): Logger {
  const settings = { level: options.level ?? "info", redact: { paths: REDACTED_PATHS, censor: "[redacted]" } };
  if (options.format === "pretty") {
    return pino(settings, pretty({ sync: true, colorize: true, singleLine: true, ignore: "pid,hostname", destination: options.destination ?? process.stdout }));
  }
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

let root: Logger | undefined;

export function logger(): Logger {
  if (!root) {
    const env = getEnv();
    root = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  }
  return root;
}

/** The configuration warnings of startupWarnings, logged when a process of the app starts (web and worker). */
export function logStartupWarnings(role: "web" | "worker", env: Env = getEnv()): void {
  for (const warning of startupWarnings(env)) logger().warn({ role }, warning);
}
