// pg-boss instances. The web role only sends jobs; the worker role also supervises (expiry of jobs
// whose worker died, retention) and runs schedules.
import PgBoss from "pg-boss";

export const QUEUE_SCHEMA = "pgboss";

export type BossRole = "sender" | "worker" | "migrator";

export function createBoss(databaseUrl: string, role: BossRole, maintenanceIntervalSeconds = 30): PgBoss {
  const boss = new PgBoss({
    connectionString: databaseUrl,
    schema: QUEUE_SCHEMA,
    application_name: `klaviyo-sync-${role}`,
    max: role === "worker" ? 10 : 4,
    migrate: role === "migrator",
    supervise: role === "worker",
    schedule: role === "worker",
    // Maintenance finds jobs whose worker died (expired) and hands them to a live worker.
    maintenanceIntervalSeconds,
  });
  return boss;
}

const globalCache = globalThis as unknown as { senderBoss?: Promise<PgBoss> };

/** The process-wide sending instance (started on first use). */
export function senderBoss(): Promise<PgBoss> {
  if (!globalCache.senderBoss) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const boss = createBoss(url, "sender");
    boss.on("error", () => {
      // Connection errors surface on the next send and in /api/health; nothing to do here.
    });
    globalCache.senderBoss = boss.start().catch((error) => {
      globalCache.senderBoss = undefined;
      throw error;
    });
  }
  return globalCache.senderBoss;
}
