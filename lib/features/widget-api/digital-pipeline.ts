// The widget's Digital Pipeline answers: the hook URL and the account's DP token for `dpSettings`,
// rotating that token, and the Klaviyo metric names offered as event-name suggestions.
import { NextResponse } from "next/server";
import { z } from "zod";
import type { Account } from "@/lib/db/client";
import { getEnv } from "@/lib/platform/env";
import { jsonError } from "@/lib/platform/http/errors";
import { logger } from "@/lib/platform/log";
import { KlaviyoError } from "@/lib/integrations/klaviyo";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";
import { digitalPipelineToken, rotateDigitalPipelineToken } from "@/lib/features/digital-pipeline/token";

export const digitalPipelineHookUrl = () => `${getEnv().APP_URL}/api/kommo/dp`;

/** Answers are never cached: the token is a secret of the account. */
const privateJson = (body: unknown) => NextResponse.json(body, { headers: { "cache-control": "no-store" } });

export async function digitalPipelineAnswer(account: Account): Promise<Response> {
  return privateJson({ webhookUrl: digitalPipelineHookUrl(), token: await digitalPipelineToken(account.id) });
}

const rotateSchema = z.strictObject({ rotate: z.literal(true) });

export async function rotateDigitalPipelineAnswer(request: Request, account: Account): Promise<Response> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return jsonError(400, "invalid_json", "the body must be JSON");
  }
  if (!rotateSchema.safeParse(body).success) return jsonError(400, "invalid_request", 'the body must be { "rotate": true }');
  const token = await rotateDigitalPipelineToken(account.id);
  logger().info({ accountId: account.id }, "Digital Pipeline token rotated");
  return privateJson({ webhookUrl: digitalPipelineHookUrl(), token });
}

export async function klaviyoMetricsAnswer(account: Account): Promise<Response> {
  try {
    const metrics = await klaviyoClientFor(account).getMetrics();
    const names = [...new Set(metrics.map((metric) => metric.name).filter((name): name is string => Boolean(name)))].sort((a, b) => a.localeCompare(b));
    return NextResponse.json({ metrics: names });
  } catch (error) {
    if (error instanceof KlaviyoError) {
      return jsonError(error.retryable ? 502 : 422, error.code, `Klaviyo did not return the metrics: ${error.message}`);
    }
    throw error;
  }
}
