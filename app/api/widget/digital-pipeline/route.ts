// GET /api/widget/digital-pipeline: what the widget's `dpSettings` writes into a "Send to Klaviyo"
// action (the hook URL and the account's DP token, for the hidden `kss_token` setting).
// POST { "rotate": true }: a new token; actions saved with the old one stop acting until saved again.
import { widgetPreflight, widgetRoute } from "@/lib/features/widget-api/route";
import { digitalPipelineAnswer, rotateDigitalPipelineAnswer } from "@/lib/features/widget-api/digital-pipeline";

export const dynamic = "force-dynamic";

export const OPTIONS = widgetPreflight;

export const GET = widgetRoute(async (_request, { account }) => digitalPipelineAnswer(account), { adminOnly: true });

export const POST = widgetRoute(async (request, { account }) => rotateDigitalPipelineAnswer(request, account), { adminOnly: true });
