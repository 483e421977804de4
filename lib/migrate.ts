// Brings a database up to date: the committed Prisma migrations, then the queue schema and queues.
// Used by `npm run db:migrate`, by `npm start` on every start, and by the test setup.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { createBoss } from "@/lib/jobs/boss";
import { JOB_READY_TRIGGER_SQL } from "@/lib/jobs/job-wakeups";
import { prepareQueues } from "@/lib/jobs/queues";
import { ALL_JOBS } from "@/lib/worker";

const projectRoot = path.resolve(__dirname, "..");

function runPrismaMigrateDeploy(databaseUrl: string): Promise<void> {
  const prismaCli = createRequire(path.join(projectRoot, "package.json")).resolve("prisma/build/index.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli, "migrate", "deploy"], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`prisma migrate deploy failed (exit ${code}):\n${output.trim()}`));
    });
  });
}

export async function migrateDatabase(databaseUrl: string): Promise<void> {
  await runPrismaMigrateDeploy(databaseUrl);
  const boss = createBoss(databaseUrl, "migrator");
  await boss.start();
  try {
    await prepareQueues(boss, ALL_JOBS);
    await boss.getDb().executeSql(JOB_READY_TRIGGER_SQL, []);
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}
