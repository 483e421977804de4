// Kommo CRM webhooks; the unguessable hook key in the path identifies (and authenticates) the account.
import { handleCrmWebhook } from "@/lib/features/intake/webhook-intake";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function POST(request: Request, context: { params: Promise<{ hookKey: string }> }) {
  const { hookKey } = await context.params;
  return handleCrmWebhook(request, hookKey);
}
