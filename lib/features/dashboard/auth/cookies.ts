// The dashboard's cookies are next-auth's: their names depend on whether the app is served over
// HTTPS (then they carry the __Secure- prefix and the Secure flag), so both sides derive them here.
import type { Env } from "@/lib/platform/env";

export const SESSION_MAX_AGE_SECONDS = 8 * 60 * 60;

export const secureCookies = (env: Pick<Env, "APP_URL">) => env.APP_URL.startsWith("https://");

const prefix = (env: Pick<Env, "APP_URL">) => (secureCookies(env) ? "__Secure-" : "");

/** next-auth's session cookie (an encrypted JWT, see session.ts). */
export const sessionCookieName = (env: Pick<Env, "APP_URL">) => `${prefix(env)}next-auth.session-token`;

/** next-auth's OAuth `state` cookie, set when the browser leaves for Kommo's consent page. */
export const stateCookieName = (env: Pick<Env, "APP_URL">) => `${prefix(env)}next-auth.state`;

export function sessionCookieOptions(env: Pick<Env, "APP_URL">) {
  return { httpOnly: true, sameSite: "lax" as const, path: "/", secure: secureCookies(env), maxAge: SESSION_MAX_AGE_SECONDS };
}

/** Cookies of a request by name; a value split into chunks (`name.0`, `name.1`) is joined, as next-auth writes it. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  const parts = new Map<string, string>();
  for (const pair of header.split(";")) {
    const index = pair.indexOf("=");
    if (index < 0) continue;
    const key = pair.slice(0, index).trim();
    if (key === name || key.startsWith(`${name}.`)) parts.set(key, decodeURIComponent(pair.slice(index + 1).trim()));
  }
  if (parts.has(name)) return parts.get(name);
  const chunks = [...parts.entries()].sort(([a], [b]) => Number(a.split(".").pop()) - Number(b.split(".").pop()));
  return chunks.length > 0 ? chunks.map(([, value]) => value).join("") : undefined;
}
