// GET /api/metrics: Prometheus text format for the operator's scraper, behind METRICS_TOKEN
// (Authorization: Bearer …). Unset METRICS_TOKEN turns the endpoint off. What each metric means:
// lib/features/dashboard/metrics.ts and the README.
import { getEnv } from "@/lib/platform/env";
import { jsonError } from "@/lib/platform/http/errors";
import { bearerMatches } from "@/lib/features/dashboard/metrics-auth";
import { renderMetrics } from "@/lib/features/dashboard/metrics";
import { logger } from "@/lib/platform/log";

export const dynamic = "force-dynamic";

export async function GET(request: Request) {
  const token = getEnv().METRICS_TOKEN;
  if (!token) return jsonError(404, "metrics_disabled", "metrics are turned off: set METRICS_TOKEN to enable GET /api/metrics");
  if (!bearerMatches(request.headers.get("authorization"), token)) {
    return jsonError(401, "unauthorized", "send the metrics token as Authorization: Bearer <METRICS_TOKEN>", { "WWW-Authenticate": 'Bearer realm="metrics"' });
  }
  try {
    const { body, contentType } = await renderMetrics();
    return new Response(body, { status: 200, headers: { "Content-Type": contentType, "Cache-Control": "no-store" } });
  } catch (error) {
    logger().error({ err: error }, "metrics could not be read");
    return jsonError(503, "metrics_unavailable", "the metrics could not be read from the database; see the logs");
  }
}
