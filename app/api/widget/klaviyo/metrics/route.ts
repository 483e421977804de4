// GET /api/widget/klaviyo/metrics: the names of the Klaviyo account's metrics, as suggestions for a
// Digital Pipeline action's event name.
import { widgetPreflight, widgetRoute } from "@/lib/features/widget-api/route";
import { klaviyoMetricsAnswer } from "@/lib/features/widget-api/digital-pipeline";

export const dynamic = "force-dynamic";

export const OPTIONS = widgetPreflight;

export const GET = widgetRoute(async (_request, { account }) => klaviyoMetricsAnswer(account), { adminOnly: true });
