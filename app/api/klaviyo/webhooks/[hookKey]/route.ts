// Klaviyo system webhooks (email activity) for accounts whose Klaviyo plan has them; the signed
// deliveries feed the same activity store as the poll.
import { handleKlaviyoWebhook } from "@/lib/features/activity/klaviyo-webhook";
import { jsonError } from "@/lib/platform/http/errors";
import { logger } from "@/lib/platform/log";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function POST(request: Request, context: { params: Promise<{ hookKey: string }> }) {
  const { hookKey } = await context.params;
  try {
    return await handleKlaviyoWebhook(request, hookKey);
  } catch (error) {
    // 503: Klaviyo retries a delivery that failed on our side.
    logger().error({ err: error }, "Klaviyo webhook failed");
    return jsonError(503, "temporarily_unavailable", "The delivery could not be processed right now; please try again later");
  }
}
