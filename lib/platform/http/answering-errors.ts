// Unexpected failures of the Kommo routes (database down, a bug) still answer with the JSON error
// shape, and with 503 so that Kommo retries the delivery later instead of counting it as refused.
import { jsonError } from "./errors";
import { logger } from "@/lib/platform/log";

export function answeringErrors<Args extends unknown[]>(route: string, handler: (...args: Args) => Promise<Response>) {
  return async (...args: Args): Promise<Response> => {
    try {
      return await handler(...args);
    } catch (error) {
      logger().error({ err: error, route }, "Kommo route failed");
      return jsonError(503, "temporarily_unavailable", "The request could not be processed right now; please try again later");
    }
  };
}
