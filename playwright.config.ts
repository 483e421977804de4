// Browser tests (npm run test:browser): the Kommo widget on a Kommo-like page, against the real
// backend and the simulators (tests/browser/harness). Debian's chromium, never a downloaded browser;
// the web app must be built first (npm test builds it once for every suite).
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests/browser",
  testMatch: "**/*.spec.ts",
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["json", { outputFile: ".data/test-results/playwright.json" }]],
  outputDir: ".data/test-results/playwright",
  globalSetup: "./tests/browser/harness/global-setup.ts",
  use: {
    browserName: "chromium",
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
    // The widget's page is https://{subdomain}.kommo.com and its backend is on loopback: Chrome asks
    // for the local-network-access permission, which a user would grant.
    permissions: ["local-network-access"],
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "off",
    screenshot: "only-on-failure",
  },
});
