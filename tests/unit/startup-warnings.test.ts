// The web process's start-up (Next.js calls instrumentation.ts's register() once at boot) warns when
// a production run sends Kommo or Klaviyo calls to an overridden address; the worker logs the same
// lines through logStartupWarnings when it starts (lib/worker-main.ts).
import { afterEach, describe, expect, it, vi } from "vitest";
import { register } from "@/instrumentation";
import { resetEnvForTests } from "@/lib/platform/env";
import { logger, logStartupWarnings } from "@/lib/platform/log";

const saved = { ...process.env };

afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
  resetEnvForTests();
  vi.restoreAllMocks();
});

function productionWith(overrides: Record<string, string>) {
  Object.assign(process.env, { APP_MODE: "production", NEXT_RUNTIME: "nodejs", APP_URL: "https://sync.example.com", ...overrides });
  resetEnvForTests();
}

describe("start-up warnings", () => {
  it("are logged by the web process at every start while production calls go to an overridden API", async () => {
    productionWith({ KOMMO_API_BASE_URL: "http://127.0.0.1:4010", ALLOW_API_BASE_OVERRIDE: "true" });
    const warn = vi.spyOn(logger(), "warn");
    await register();
    await register();
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0]).toEqual([{ role: "web" }, expect.stringMatching(/^ALLOW_API_BASE_OVERRIDE=true in production: Kommo calls go to http:\/\/127\.0\.0\.1:4010/)]);
    logStartupWarnings("worker");
    expect(warn.mock.calls[2]).toEqual([{ role: "worker" }, warn.mock.calls[0]![1]]);
  });

  it("are silent for a production run against the real APIs", async () => {
    productionWith({});
    const warn = vi.spyOn(logger(), "warn");
    await register();
    logStartupWarnings("worker");
    expect(warn).not.toHaveBeenCalled();
  });
});
