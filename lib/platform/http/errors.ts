// Every error the HTTP surface returns has one shape: { "error": { "code", "message" } }, with a
// code from lib/outcomes.ts. A plain web Response, not NextResponse: the worker imports features
// that answer HTTP too, and next/server would cost every worker process about 16 MB for nothing.
import type { ErrorCode, OutcomeError } from "@/lib/outcomes";

export type ErrorBody = { error: { code: ErrorCode; message: string } };

export function jsonError(status: number, code: ErrorCode, message: string, headers?: HeadersInit): Response {
  const body: ErrorBody = { error: { code, message } };
  return Response.json(body, { status, headers });
}

/** An outcome the product defined, answered with its own status. */
export function errorResponse(error: OutcomeError, headers?: HeadersInit): Response {
  return jsonError(error.httpStatus, error.code, error.message, headers);
}
