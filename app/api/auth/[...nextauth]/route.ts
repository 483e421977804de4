// /api/auth/*: next-auth (sign-in with Kommo, callback, CSRF token, sign-out). Its configuration is
// lib/features/dashboard/auth/options.ts, built per request because the build has no secrets to read.
import NextAuth from "next-auth";
import type { NextRequest } from "next/server";
import { authOptions } from "@/lib/features/dashboard/auth/options";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ nextauth: string[] }> };

async function handler(request: NextRequest, context: Context): Promise<Response> {
  return NextAuth(authOptions())(request, context);
}

export { handler as GET, handler as POST };
