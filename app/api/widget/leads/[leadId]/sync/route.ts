// POST /api/widget/leads/{leadId}/sync: "Sync now" in the deal card. Records the press and queues
// the lead's sync job; answers 202 at once (the pane watches the activity route for the outcome).
import { NextResponse } from "next/server";
import { jsonError } from "@/lib/platform/http/errors";
import { zodMessage } from "@/lib/platform/http/zod";
import { assertCanViewLead } from "@/lib/features/widget-api/lead-access";
import { leadParamsSchema } from "@/lib/features/widget-api/lead-id";
import { widgetPreflight, widgetRoute } from "@/lib/features/widget-api/route";
import { requestSyncNow } from "@/lib/features/widget-api/sync-now";

export const dynamic = "force-dynamic";

export const OPTIONS = widgetPreflight;

export const POST = widgetRoute<{ leadId: string }>(
  async (_request, { account, claims, params }) => {
    const parsed = leadParamsSchema.safeParse(params);
    if (!parsed.success) return jsonError(400, "invalid_lead_id", zodMessage(parsed.error));
    // Only users Kommo lets view the deal may re-send it.
    await assertCanViewLead(account, claims, parsed.data.leadId);
    // A press that cannot lead to a sync is answered 409 by widgetRoute from its SyncNowRefusedError.
    await requestSyncNow(account, parsed.data.leadId);
    return NextResponse.json({ status: "queued", leadId: parsed.data.leadId }, { status: 202 });
  },
  { throttled: true },
);
