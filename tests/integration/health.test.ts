import { afterAll, describe, expect, it } from "vitest";
import { GET } from "@/app/api/health/route";
import { createPrismaClient, db } from "@/lib/db/client";
import { checkHealth } from "@/lib/features/health/health";
import { JOB_NAMES } from "@/lib/worker";

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

  it("names the failing part, without credentials, when the database is down", async () => {
    const { healthy, report } = await checkHealth(JOB_NAMES, unreachable);
    expect(healthy).toBe(false);
    expect(report.db).toMatch(/^down: /);
    expect(report.queue).toMatch(/^down: /);
    expect(JSON.stringify(report)).not.toContain("secret-password");
  });

  it("reports queues that were never created", async () => {
    const { healthy, report } = await checkHealth([...JOB_NAMES, "queue-that-was-never-created"], db());
    expect(healthy).toBe(false);
    expect(report).toEqual({ db: "ok", queue: "missing queues: queue-that-was-never-created (run npm run db:migrate)" });
  });
});
