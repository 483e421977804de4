// GET /api/widget/klaviyo/lists: every list of the connected Klaviyo account, for the mapping UI.
import { NextResponse } from "next/server";
import { jsonError } from "@/lib/platform/http/errors";
import { KlaviyoError } from "@/lib/integrations/klaviyo";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";
import { widgetPreflight, widgetRoute } from "@/lib/features/widget-api/route";

export const dynamic = "force-dynamic";

export const OPTIONS = widgetPreflight;

export const GET = widgetRoute(async (_request, { account }) => {
  try {
    const lists = await klaviyoClientFor(account).getLists();
    return NextResponse.json({
      lists: lists
        .map((list) => ({ id: list.id, name: list.name ?? list.id, doubleOptIn: list.optInProcess === "double_opt_in" }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    });
  } catch (error) {
    if (error instanceof KlaviyoError) {
      return jsonError(error.retryable ? 502 : 422, error.code, `Klaviyo did not return the lists: ${error.message}`);
    }
    throw error;
  }
}, { throttled: true });
