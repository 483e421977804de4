// GET /api/widget/leads/{leadId}/activity: the deal-card pane's data (profile, stage, lists, email
// activity, sync status), from our database.
import { NextResponse } from "next/server";
import { jsonError } from "@/lib/platform/http/errors";
import { zodMessage } from "@/lib/platform/http/zod";
import { dealActivity } from "@/lib/features/widget-api/activity";
import { assertCanViewLead } from "@/lib/features/widget-api/lead-access";
import { leadParamsSchema } from "@/lib/features/widget-api/lead-id";
import { widgetPreflight, widgetRoute } from "@/lib/features/widget-api/route";

export const dynamic = "force-dynamic";

export const OPTIONS = widgetPreflight;

export const GET = widgetRoute<{ leadId: string }>(
  async (_request, { account, claims, params }) => {
    const parsed = leadParamsSchema.safeParse(params);
    if (!parsed.success) return jsonError(400, "invalid_lead_id", zodMessage(parsed.error));
    // Only users Kommo lets view the deal see its contact's profile and email activity.
    await assertCanViewLead(account, claims, parsed.data.leadId);
    return NextResponse.json(await dealActivity(account, parsed.data.leadId), { headers: { "Cache-Control": "no-store" } });
  },
  { throttled: true },
);
