// Next.js calls register() once when the web server starts: the web process's start-up warnings
// (the worker logs its own in lib/worker-main.ts).
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { ConfigError } = await import("@/lib/platform/env");
  const { logStartupWarnings } = await import("@/lib/platform/log");
  try {
    logStartupWarnings("web");
  } catch (error) {
    // An invalid configuration is reported by the launcher, and by each request that needs it.
    if (!(error instanceof ConfigError)) throw error;
  }
}
