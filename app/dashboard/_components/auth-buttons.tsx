"use client";
// Sign in and sign out go through next-auth's endpoints, which check their own CSRF token (the
// client library fetches it from /api/auth/csrf and posts it back).
import { signIn, signOut } from "next-auth/react";
import { useState } from "react";

export function SignInWithKommo({ callbackUrl }: { callbackUrl: string }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="d-button d-button--big d-kommo-button"
      disabled={busy}
      onClick={() => {
        setBusy(true);
        void signIn("kommo", { callbackUrl });
      }}
    >
      {busy ? "Opening Kommo…" : "Sign in with Kommo"}
    </button>
  );
}

export function SignOutButton() {
  return (
    <button type="button" className="d-linkbutton" onClick={() => void signOut({ callbackUrl: "/dashboard/sign-in" })}>
      Sign out
    </button>
  );
}
