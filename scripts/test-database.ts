// The PostgreSQL server of one `npm test` run, for scripts/test.sh (see
// tests/helpers/test-database-server.ts for the choice):
//   start  prints the shell lines that export TEST_DATABASE_ADMIN_URL and TEST_DATABASE_EMBEDDED_HOME
//          when it started a throwaway embedded cluster (it keeps running after this process), and
//          nothing when TEST_DATABASE_ADMIN_URL is set or a server answers at 127.0.0.1:5432;
//   stop   stops the throwaway cluster named by TEST_DATABASE_EMBEDDED_HOME and removes its folder.
import { rmSync } from "node:fs";
import { EmbeddedPostgresError, PostgresCluster } from "../lib/db/postgres-cluster";
import { DEFAULT_ADMIN_URL, EMBEDDED_HOME_VARIABLE, serverAnswers, startThrowawayCluster } from "../tests/helpers/test-database-server";

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

async function start() {
  if (process.env.TEST_DATABASE_ADMIN_URL) return;
  if (await serverAnswers("127.0.0.1", 5432)) return;
  const started = Date.now();
  const cluster = await startThrowawayCluster({ outliveProcess: true });
  console.error(`== no PostgreSQL at ${new URL(DEFAULT_ADMIN_URL).host} and TEST_DATABASE_ADMIN_URL unset: a throwaway embedded PostgreSQL for this run (${new URL(cluster.adminUrl).host}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`export TEST_DATABASE_ADMIN_URL=${quote(cluster.adminUrl)}`);
  console.log(`export ${EMBEDDED_HOME_VARIABLE}=${quote(cluster.home)}`);
}

async function stop() {
  const home = process.env[EMBEDDED_HOME_VARIABLE];
  if (!home) return;
  await new PostgresCluster(home).stop();
  rmSync(home, { recursive: true, force: true });
}

const command = process.argv[2];
(command === "start" ? start() : command === "stop" ? stop() : Promise.reject(new Error("usage: test-database.ts start|stop"))).catch((error: unknown) => {
  console.error(error instanceof EmbeddedPostgresError ? `test database: ${error.message}` : error);
  process.exit(1);
});
