// GET /api/widget/kommo/pipelines: the account's pipelines and their stages, for the mapping UI.
import { NextResponse } from "next/server";
import { jsonError } from "@/lib/platform/http/errors";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { INTERACTIVE_MAX_WAIT_MS } from "@/lib/integrations/kommo/rate";
import { KommoApiError } from "@/lib/integrations/kommo/errors";
import { widgetPreflight, widgetRoute } from "@/lib/features/widget-api/route";

export const dynamic = "force-dynamic";

export const OPTIONS = widgetPreflight;

export const GET = widgetRoute(async (_request, { account }) => {
  try {
    const pipelines = await (await kommoClientFor(account.id, undefined, { maxSlotWaitMs: INTERACTIVE_MAX_WAIT_MS })).getPipelines();
    return NextResponse.json({
      pipelines: pipelines
        .filter((pipeline) => !pipeline.is_archive)
        .map((pipeline) => ({
          id: pipeline.id,
          name: pipeline.name,
          stages: pipeline._embedded.statuses
            .slice()
            .sort((a, b) => (a.sort ?? 0) - (b.sort ?? 0))
            .map((status) => ({ id: status.id, name: status.name })),
        })),
    });
  } catch (error) {
    if (error instanceof KommoApiError) {
      return jsonError(error.retryable ? 502 : 422, error.code, `Kommo did not return the pipelines: ${error.message}`);
    }
    throw error;
  }
}, { throttled: true });
