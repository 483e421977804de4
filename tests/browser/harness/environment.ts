// Loopback ports and the environment of the app's processes for browser tests. (Playwright loads
// these files as CommonJS, where `import.meta` is not available, so tests/helpers/processes.ts
// cannot be imported here; these are its few lines the harness needs.)
import net from "node:net";
import path from "node:path";

export const projectRoot = path.resolve(__dirname, "..", "..", "..");

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** This process's environment without anything that configures the app, plus `overrides`. */
export function appEnvironment(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(environment)) {
    if (/^(NODE_ENV|APP_MODE|APP_URL|ENCRYPTION_KEY|ENCRYPTION_PREVIOUS_KEYS|AUTH_SECRET|KOMMO_.*|KLAVIYO_.*|DATABASE_URL|LOG_LEVEL|LOG_FORMAT|PORT|HOST|DATA_DIR)$/.test(name)) {
      delete environment[name];
    }
  }
  return { ...environment, ...overrides };
}
