// Before the browser suite: the web app must be built (`next start` serves the build). npm test
// builds it once for every suite; a lone `npm run test:browser` builds it here when it is missing.
// Also the PostgreSQL server the suite's databases are created in (tests/helpers/test-database-server.ts):
// under npm test the run's; alone, a throwaway embedded cluster when no server answers, stopped by the
// returned teardown. The workers inherit TEST_DATABASE_ADMIN_URL from this process.
import { execFileSync } from "node:child_process";
import { useTestDatabaseServer } from "../../helpers/test-database-server";
import { projectRoot } from "./environment";
import { buildExists } from "./app";

export default async function globalSetup() {
  if (!buildExists()) {
    console.log("== building the web app for the browser tests (npx next build)");
    execFileSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], {
      cwd: projectRoot,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
      stdio: "inherit",
    });
  }
  const server = await useTestDatabaseServer();
  return () => server.release();
}
