import { afterAll, describe, expect, it, vi } from "vitest";
import { GET } from "@/app/api/health/route";
import { createPrismaClient, db } from "@/lib/db/client";
import { checkHealth } from "@/lib/features/health/health";
import { JOB_NAMES } from "@/lib/worker";
import { logger } from "@/lib/platform/log";

const unreachable = createPrismaClient("postgresql://postgres:secret-password@127.0.0.1:1/none", 1);

afterAll(async () => {
  await unreachable.$disconnect();
  await db().$disconnect();
});

describe("GET /api/health", () => {
  it("answers 200 with the database and queue ok on a migrated database", async () => {
    const response = await GET();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ db: "ok", queue: "ok" });
  });

  it("names the failing part and nothing of the database's error, which goes to the log without credentials", async () => {
    const warn = vi.spyOn(logger(), "warn");
    try {
      const { healthy, report } = await checkHealth(JOB_NAMES, unreachable);
      expect(healthy).toBe(false);
      // The whole public answer: no driver message, host, port, user or database name.
      expect(report).toEqual({ db: "down", queue: "down" });
      const logged = warn.mock.calls.filter(([fields]) => (fields as { part?: string }).part !== undefined);
      expect(logged.map(([fields]) => (fields as { part: string }).part).sort()).toEqual(["database", "queue"]);
      for (const [fields] of logged) expect((fields as { reason: string }).reason.length).toBeGreaterThan(0);
      expect(JSON.stringify(logged)).not.toContain("secret-password");
    } finally {
      warn.mockRestore();
    }
  });

  it("reports queues that were never created", async () => {
    const { healthy, report } = await checkHealth([...JOB_NAMES, "queue-that-was-never-created"], db());
    expect(healthy).toBe(false);
    expect(report).toEqual({ db: "ok", queue: "missing queues: queue-that-was-never-created (run npm run db:migrate)" });
  });
});
