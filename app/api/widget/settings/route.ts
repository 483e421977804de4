// GET/PUT /api/widget/settings: the account's Klaviyo key (write-only), stage -> list mappings,
// event names and toggles. An omitted field keeps its value.
import { NextResponse } from "next/server";
import { jsonError } from "@/lib/platform/http/errors";
import { KlaviyoError } from "@/lib/integrations/klaviyo";
import { loadSettings, settingsView } from "@/lib/features/settings/account-settings";
import { updateSettings } from "@/lib/features/widget-api/settings-save";
import { settingsUpdateSchema } from "@/lib/features/settings/settings";
import { widgetPreflight, widgetRoute } from "@/lib/features/widget-api/route";
import { zodMessage } from "@/lib/platform/http/zod";

export const dynamic = "force-dynamic";

export const OPTIONS = widgetPreflight;

export const GET = widgetRoute(async (_request, { account }) => {
  return NextResponse.json(settingsView(account, await loadSettings(account)));
});

export const PUT = widgetRoute(
  async (request, { account }) => {
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return jsonError(400, "invalid_json", "the body must be JSON");
    }
    const update = settingsUpdateSchema.safeParse(body);
    if (!update.success) return jsonError(400, "invalid_settings", zodMessage(update.error));
    try {
      return NextResponse.json(await updateSettings(account, update.data));
    } catch (error) {
      // A rejected key is answered 422 by widgetRoute; Klaviyo failing to answer is said here in its own words.
      if (error instanceof KlaviyoError) return jsonError(502, "klaviyo_unavailable", `Klaviyo could not check the key right now (${error.message}); try again`);
      throw error;
    }
  },
  { adminOnly: true },
);
