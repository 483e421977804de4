// Kommo's "access revoked" hook (HMAC-signed).
import { handleRevoke } from "@/lib/features/install/revoke";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export function GET(request: Request) {
  return handleRevoke(request);
}
