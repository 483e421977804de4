// POST /api/widget/backfill: an account admin starts the import of existing deals (202, or 409 while
// one is queued or running). GET: the latest run's progress, which the settings panel polls.
import { NextResponse } from "next/server";
import { startBackfill, latestBackfill } from "@/lib/features/backfill/runs";
import { backfillRequestSchema, backfillView } from "@/lib/features/backfill/scope";
import { jsonError } from "@/lib/platform/http/errors";
import { zodMessage } from "@/lib/platform/http/zod";
import { widgetPreflight, widgetRoute } from "@/lib/features/widget-api/route";

export const dynamic = "force-dynamic";

export const OPTIONS = widgetPreflight;

export const GET = widgetRoute(
  async (_request, { account }) => {
    const run = await latestBackfill(account.id);
    if (!run) return jsonError(404, "no_backfill", "no import of existing deals has been started for this account");
    return NextResponse.json(backfillView(run));
  },
  { adminOnly: true },
);

export const POST = widgetRoute(
  async (request, { account }) => {
    let body: unknown;
    try {
      const text = await request.text();
      body = text.trim() === "" ? {} : JSON.parse(text);
    } catch {
      return jsonError(400, "invalid_json", "the body must be JSON");
    }
    const parsed = backfillRequestSchema.safeParse(body);
    if (!parsed.success) return jsonError(400, "invalid_backfill", zodMessage(parsed.error));
    // A run already going (409) or Klaviyo not connected (422) is answered by widgetRoute from the error.
    const run = await startBackfill(account, parsed.data.scope ?? {});
    return NextResponse.json({ id: run.id, status: "queued" }, { status: 202 });
  },
  { adminOnly: true },
);
