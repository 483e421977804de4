// The bearer token of GET /api/metrics (METRICS_TOKEN), compared in constant time.
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (text: string) => createHash("sha256").update(text).digest();

/** True when `authorization` is exactly "Bearer <token>". Hashing first makes the lengths equal. */
export function bearerMatches(authorization: string | null, token: string): boolean {
  const presented = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (!presented) return false;
  return timingSafeEqual(digest(presented), digest(token));
}
