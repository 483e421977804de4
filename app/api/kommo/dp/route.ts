// Kommo Digital Pipeline widget hooks ("Send to Klaviyo" actions); the account's DP token in the
// action's hidden setting authenticates them.
import { handleDigitalPipelineHook } from "@/lib/features/intake/dp-intake";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function POST(request: Request) {
  return handleDigitalPipelineHook(request);
}
