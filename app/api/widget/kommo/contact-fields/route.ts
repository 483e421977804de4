// GET /api/widget/kommo/contact-fields: the account's contact checkbox fields, for the opt-in picker.
import { NextResponse } from "next/server";
import { jsonError } from "@/lib/platform/http/errors";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { KommoApiError } from "@/lib/integrations/kommo/errors";
import { checkboxFields } from "@/lib/features/consent/settings-check";
import { widgetPreflight, widgetRoute } from "@/lib/features/widget-api/route";

export const dynamic = "force-dynamic";

export const OPTIONS = widgetPreflight;

export const GET = widgetRoute(async (_request, { account }) => {
  try {
    return NextResponse.json({ checkboxes: await checkboxFields(await kommoClientFor(account.id)) });
  } catch (error) {
    if (error instanceof KommoApiError) {
      return jsonError(error.retryable ? 502 : 422, error.code, `Kommo did not return the contact fields: ${error.message}`);
    }
    throw error;
  }
});
