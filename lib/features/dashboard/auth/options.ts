// next-auth's configuration for the dashboard: the Kommo provider, JWT sessions signed with
// AUTH_SECRET, our own sign-in page, and the claims a session carries (viewer.ts). Built on first
// use rather than at import, because `next build` imports route modules without the app's secrets.
import type { AuthOptions } from "next-auth";
import { getEnv, type Env } from "@/lib/platform/env";
import { logger } from "@/lib/platform/log";
import { secureCookies, SESSION_MAX_AGE_SECONDS } from "./cookies";
import { kommoProvider, kommoSignInProfileSchema } from "./kommo-provider";
import { signInRefusal } from "./sign-in-policy";
import type { SessionClaims } from "./viewer";

export const SIGN_IN_PAGE = "/dashboard/sign-in";

/** The message of what next-auth reports (an Error, or an object holding one), nothing else from it. */
function reasonOf(metadata: unknown): string | undefined {
  if (metadata instanceof Error) return metadata.message;
  const inner = (metadata as { error?: unknown } | null)?.error;
  return inner instanceof Error ? inner.message : undefined;
}

export function authOptions(env: Env = getEnv()): AuthOptions {
  // next-auth learns its own public URL from this variable (it is the same as APP_URL).
  process.env.NEXTAUTH_URL = `${env.APP_URL}/api/auth`;
  const configured = Boolean(env.KOMMO_CLIENT_ID && env.KOMMO_CLIENT_SECRET);
  return {
    secret: env.AUTH_SECRET,
    useSecureCookies: secureCookies(env),
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_SECONDS },
    jwt: { maxAge: SESSION_MAX_AGE_SECONDS },
    providers: configured ? [kommoProvider(env)] : [],
    pages: { signIn: SIGN_IN_PAGE, error: SIGN_IN_PAGE },
    callbacks: {
      async signIn({ profile }) {
        const parsed = kommoSignInProfileSchema.safeParse(profile);
        if (!parsed.success) return `${env.APP_URL}${SIGN_IN_PAGE}?error=OAuthCallback`;
        const refusal = await signInRefusal(parsed.data, env);
        if (refusal) {
          logger().info({ kommoAccountId: parsed.data.kommoAccountId, kommoUserId: parsed.data.kommoUserId, refusal }, "dashboard sign-in refused");
          return `${env.APP_URL}${SIGN_IN_PAGE}?error=${refusal}`;
        }
        return true;
      },
      async jwt({ token, profile }) {
        // `profile` is present only on the sign-in itself; afterwards the token is passed through.
        const signedIn = kommoSignInProfileSchema.safeParse(profile);
        if (!signedIn.success) return token;
        const claims: SessionClaims = {
          kommoAccountId: signedIn.data.kommoAccountId,
          kommoUserId: signedIn.data.kommoUserId,
          isAdmin: signedIn.data.isAdmin,
          name: signedIn.data.userName,
          email: signedIn.data.userEmail,
          via: "kommo",
        };
        return { sub: token.sub, ...claims };
      },
      async session({ session, token }) {
        return { ...session, user: { name: (token.name as string | null) ?? null, email: (token.email as string | null) ?? null } };
      },
    },
    // next-auth's own log lines, without the metadata objects (they can hold codes and tokens).
    logger: {
      error: (code, metadata) => logger().warn({ nextAuthCode: code, reason: reasonOf(metadata) }, "dashboard sign-in error"),
      warn: (code) => logger().debug({ nextAuthCode: code }, "next-auth warning"),
      debug: () => undefined,
    },
  };
}
