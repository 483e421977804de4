// Before the browser suite: the app must be built (`next start` serves the build; the worker runs
// its bundle). npm test builds it once for every suite; a lone `npm run test:browser` builds it here
// when it is missing.
// Also the PostgreSQL server the suite's databases are created in (tests/helpers/test-database-server.ts):
// under npm test the run's; alone, a throwaway embedded cluster when no server answers, stopped by the
// returned teardown. The workers inherit TEST_DATABASE_ADMIN_URL from this process.
import { ensureBuild } from "../../../bench/harness/build";
import { useTestDatabaseServer } from "../../helpers/test-database-server";

export default async function globalSetup() {
  await ensureBuild((line) => console.log(`== browser tests: ${line}`));
  const server = await useTestDatabaseServer();
  return () => server.release();
}
