// POST /api/auth/sign-in (the sign-in page's form, field `callbackUrl`): off to Kommo's consent
// page. The answer comes back to the Redirect URI (lib/features/dashboard/auth/kommo-sign-in.ts).
import { NextResponse } from "next/server";
import { postedFromOurPages } from "@/lib/features/dashboard/auth/cookies";
import { startSignIn } from "@/lib/features/dashboard/auth/kommo-sign-in";
import { SIGN_IN_PAGE } from "@/lib/features/dashboard/auth/sign-in-policy";
import { ConfigError, getEnv } from "@/lib/platform/env";
import { jsonError } from "@/lib/platform/http/errors";

export const dynamic = "force-dynamic";

export async function POST(request: Request) {
  const env = getEnv();
  if (!postedFromOurPages(request, env)) return jsonError(403, "forbidden_origin", "sign in from the dashboard's sign-in page");
  const form = await request.formData().catch(() => null);
  try {
    return await startSignIn(form?.get("callbackUrl"), env);
  } catch (error) {
    // Kommo credentials not set yet: the sign-in page says so.
    if (error instanceof ConfigError) return NextResponse.redirect(`${env.APP_URL}${SIGN_IN_PAGE}`, 303);
    throw error;
  }
}
