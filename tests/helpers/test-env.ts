// Environment of every test process: fixed test secrets, the run's database, quiet logs.
import { inject } from "vitest";

const provided = (() => {
  try {
    return inject("databaseUrl");
  } catch {
    return undefined;
  }
})();

Object.assign(process.env, {
  NODE_ENV: "test",
  APP_MODE: "local",
  APP_URL: "http://127.0.0.1:3999",
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
  AUTH_SECRET: "test-auth-secret-that-is-long-enough-000",
  KOMMO_CLIENT_ID: "0b0123f4-5678-4abc-9def-0123456789ab",
  KOMMO_CLIENT_SECRET: "test-client-secret-0123456789",
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
  LOG_FORMAT: "json",
});
if (provided) process.env.DATABASE_URL = provided;
