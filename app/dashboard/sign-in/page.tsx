// The dashboard's sign-in page: one button, "Sign in with Kommo", and the reason when a sign-in
// was refused or failed (?error=…).
import { redirect } from "next/navigation";
import { currentViewer } from "@/lib/features/dashboard/auth/sessions";
import { safeReturnPath, signInErrorMessage } from "@/lib/features/dashboard/auth/sign-in-policy";
import { getEnv } from "@/lib/platform/env";
import { SignInWithKommo } from "../_components/auth-buttons";

export const dynamic = "force-dynamic";

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function SignInPage({ searchParams }: Props) {
  const query = await searchParams;
  const error = signInErrorMessage(typeof query.error === "string" ? query.error : undefined);
  const callbackUrl = safeReturnPath(query.callbackUrl);
  if (!error && (await currentViewer())) redirect(callbackUrl);
  return (
    <main className="d-signin">
      <section className="d-card d-signin__card">
        <div className="d-brand__mark d-signin__logo" aria-hidden="true" />
        <h1>Klaviyo Sync dashboard</h1>
        <p>See every deal that went to Klaviyo, what failed and why, and replay it once fixed.</p>
        {error && (
          <div className="d-flash d-flash--error d-signin__error" role="alert" data-testid="sign-in-error">
            {error}
          </div>
        )}
        {getEnv().KOMMO_CLIENT_ID && getEnv().KOMMO_CLIENT_SECRET ? (
          <SignInWithKommo callbackUrl={callbackUrl} />
        ) : (
          <div className="d-flash d-flash--warning d-signin__error" role="alert">
            Sign-in with Kommo is not available yet: the operator has to register the integration in Kommo and set
            KOMMO_CLIENT_ID and KOMMO_CLIENT_SECRET.
          </div>
        )}
        <div className="d-signin__foot">For administrators of Kommo accounts with Klaviyo Sync installed, and for operators of this service.</div>
      </section>
    </main>
  );
}
