// GET /api/health: for load balancers. 200 { db: "ok", queue: "ok" }, or 503 naming what is down.
import { NextResponse } from "next/server";
import { checkHealth } from "@/lib/features/health/health";
import { JOB_NAMES } from "@/lib/worker";

export const dynamic = "force-dynamic";

export async function GET() {
  const { healthy, report } = await checkHealth(JOB_NAMES);
  return NextResponse.json(report, { status: healthy ? 200 : 503, headers: { "Cache-Control": "no-store" } });
}
