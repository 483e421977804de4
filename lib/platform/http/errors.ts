// Every error the HTTP surface returns has one shape: { "error": { "code", "message" } }, with a
// code from lib/outcomes.ts.
import { NextResponse } from "next/server";
import type { ErrorCode, OutcomeError } from "@/lib/outcomes";

export type ErrorBody = { error: { code: ErrorCode; message: string } };

export function jsonError(status: number, code: ErrorCode, message: string, headers?: HeadersInit): NextResponse<ErrorBody> {
  return NextResponse.json({ error: { code, message } }, { status, headers });
}

/** An outcome the product defined, answered with its own status. */
export function errorResponse(error: OutcomeError, headers?: HeadersInit): NextResponse<ErrorBody> {
  return jsonError(error.httpStatus, error.code, error.message, headers);
}
