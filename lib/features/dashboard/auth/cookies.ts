// The dashboard's two cookies, both HttpOnly and SameSite=Lax (Kommo's redirect back to us and the
// widget's new tab are top-level navigations from Kommo's site, which Lax lets through):
//  - the session: a random token naming a DashboardSession row (sessions.ts);
//  - the sign-in state: set when the browser leaves for Kommo's consent page, checked when it comes
//    back (kommo-sign-in.ts).
// Over HTTPS they carry the __Host- prefix: Secure, and never set or read by another host.
import type { Env } from "@/lib/platform/env";

export const secureCookies = (env: Pick<Env, "APP_URL">) => env.APP_URL.startsWith("https://");

const prefix = (env: Pick<Env, "APP_URL">) => (secureCookies(env) ? "__Host-" : "");

export const sessionCookieName = (env: Pick<Env, "APP_URL">) => `${prefix(env)}kss-session`;

export const signInCookieName = (env: Pick<Env, "APP_URL">) => `${prefix(env)}kss-sign-in`;

export type CookieToSet = { name: string; value: string; options: ReturnType<typeof cookieOptions> };

export function cookieOptions(env: Pick<Env, "APP_URL">, maxAgeSeconds: number) {
  return { httpOnly: true, sameSite: "lax" as const, path: "/", secure: secureCookies(env), maxAge: maxAgeSeconds };
}

/** One cookie of a request's Cookie header, by exact name. */
export function readCookie(header: string | null, name: string): string | undefined {
  for (const pair of header?.split(";") ?? []) {
    const index = pair.indexOf("=");
    if (index < 0 || pair.slice(0, index).trim() !== name) continue;
    try {
      return decodeURIComponent(pair.slice(index + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * A form post of our own pages: browsers send Origin with every POST, and another site's page
 * cannot make it ours. (Server actions get the same check from Next.js; these are route handlers.)
 */
export function postedFromOurPages(request: Request, env: Pick<Env, "APP_URL">): boolean {
  const origin = request.headers.get("origin");
  return origin === null || origin === new URL(env.APP_URL).origin;
}
