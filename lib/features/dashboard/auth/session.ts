// Reading and writing the dashboard session: next-auth's session cookie, an encrypted JWT
// (A256GCM, key derived from AUTH_SECRET). Pages, server actions and API routes all read it here,
// so every one of them decides who is asking in the same way, on the server.
import { decode, encode } from "next-auth/jwt";
import { cookies } from "next/headers";
import { getEnv, type Env } from "@/lib/platform/env";
import { readCookie, SESSION_MAX_AGE_SECONDS, sessionCookieName, sessionCookieOptions } from "./cookies";
import { sessionClaimsSchema, viewerFromClaims, type SessionClaims, type Viewer } from "./viewer";

/** The viewer of a session cookie value, or null when it is missing, forged, expired or foreign. */
export async function viewerFromSessionToken(token: string | undefined, env: Env = getEnv()): Promise<Viewer | null> {
  if (!token) return null;
  let payload: unknown;
  try {
    payload = await decode({ token, secret: env.AUTH_SECRET });
  } catch {
    return null;
  }
  const claims = sessionClaimsSchema.safeParse(payload);
  return claims.success ? viewerFromClaims(claims.data, env) : null;
}

/** The viewer of a route handler's request (API routes). */
export function viewerFromRequest(request: Request, env: Env = getEnv()): Promise<Viewer | null> {
  return viewerFromSessionToken(readCookie(request.headers.get("cookie"), sessionCookieName(env)), env);
}

/** The viewer of the current page render or server action. */
export async function currentViewer(env: Env = getEnv()): Promise<Viewer | null> {
  const store = await cookies();
  const name = sessionCookieName(env);
  const header = store
    .getAll()
    .filter((cookie) => cookie.name === name || cookie.name.startsWith(`${name}.`))
    .map((cookie) => `${cookie.name}=${encodeURIComponent(cookie.value)}`)
    .join("; ");
  return viewerFromSessionToken(readCookie(header, name), env);
}

/**
 * A session cookie as next-auth would set it after a sign-in, for the widget's door into the
 * dashboard (entry.ts), which proves the user with Kommo's token instead of an OAuth round trip.
 */
export async function sessionCookie(claims: SessionClaims, env: Env = getEnv()) {
  const value = await encode({
    token: { sub: `${claims.kommoAccountId}:${claims.kommoUserId}`, ...claims },
    secret: env.AUTH_SECRET,
    maxAge: SESSION_MAX_AGE_SECONDS,
  });
  return { name: sessionCookieName(env), value, options: sessionCookieOptions(env) };
}
