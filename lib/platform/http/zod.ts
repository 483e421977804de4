// A zod error as one readable sentence: "field.path: problem; other: problem".
import type { ZodError } from "zod";

export function zodMessage(error: ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}
