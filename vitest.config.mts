import { defineConfig } from "vitest/config";

const alias = { "@": import.meta.dirname };

/**
 * `npm run test:faults`: the app's production build and workers under injected faults, a few
 * minutes, one file whose scenarios run in order. It runs only when asked for by name
 * (`--project faults`); a plain `vitest run`, which is what `npm test` does, leaves it out.
 */
const faultSuite = {
  resolve: { alias },
  test: {
    name: "faults",
    include: ["tests/faults/**/*.test.ts"],
    globalSetup: ["tests/helpers/fresh-database.ts", "tests/faults/build-once.ts"],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
};
const faultSuiteRequested = process.argv.some((arg, index, args) => arg === "--project=faults" || (arg === "--project" && args[index + 1] === "faults"));

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          setupFiles: ["tests/helpers/test-env.ts"],
        },
      },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          globalSetup: ["tests/helpers/fresh-database.ts"],
          setupFiles: ["tests/helpers/test-env.ts", "tests/helpers/clean-slate.ts"],
          // One Postgres database for the run: files take turns so they do not see each other's rows mid-test.
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          globalSetup: ["tests/helpers/fresh-database.ts"],
          setupFiles: ["tests/helpers/test-env.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      ...(faultSuiteRequested ? [faultSuite] : []),
    ],
  },
});
