// Every error the HTTP surface returns has one shape: { "error": { "code", "message" } }.
import { NextResponse } from "next/server";

export type ErrorBody = { error: { code: string; message: string } };

export function jsonError(status: number, code: string, message: string, headers?: HeadersInit): NextResponse<ErrorBody> {
  return NextResponse.json({ error: { code, message } }, { status, headers });
}
