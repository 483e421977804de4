// Kommo and Klaviyo as the app sees them in a benchmark or fault run: both simulators in this
// process on 127.0.0.1, with Kommo's 7 requests/s per account and Klaviyo's per-endpoint limits
// enforced, and an API latency standing in for the internet.
import { KommoSimulator } from "../../tests/simulators/kommo";
import { startKlaviyoSimulator, type KlaviyoSimulator } from "../../tests/simulators/klaviyo";
import type { AppIdentity } from "./app";

export type Simulators = { kommo: KommoSimulator; klaviyo: KlaviyoSimulator; close: () => Promise<void> };

export type SimulatorOptions = {
  identity: AppIdentity;
  /** The app's public URL: Kommo checks the redirect URI against it. */
  appUrl: string;
  /** Added to every Kommo API and Klaviyo answer. */
  latencyMs: number;
};

export async function startSimulators(options: SimulatorOptions): Promise<Simulators> {
  const kommo = await KommoSimulator.start({
    clientId: options.identity.clientId,
    clientSecret: options.identity.clientSecret,
    redirectUri: `${options.appUrl}/api/kommo/oauth/callback`,
    apiLatencyMs: options.latencyMs,
    tokenLatencyMs: options.latencyMs,
  });
  const klaviyo = await startKlaviyoSimulator({ rateLimits: "spec", latencyMs: options.latencyMs });
  return {
    kommo,
    klaviyo,
    close: async () => {
      await klaviyo.close();
      await kommo.close();
    },
  };
}
