// Sign in and sign out are plain form posts to /api/auth/sign-in and /api/auth/sign-out, which
// accept them only from this app's own pages (Origin).
export function SignInWithKommo({ callbackUrl }: { callbackUrl: string }) {
  return (
    <form method="post" action="/api/auth/sign-in">
      <input type="hidden" name="callbackUrl" value={callbackUrl} />
      <button type="submit" className="d-button d-button--big d-kommo-button">
        Sign in with Kommo
      </button>
    </form>
  );
}

export function SignOutButton() {
  return (
    <form method="post" action="/api/auth/sign-out">
      <button type="submit" className="d-linkbutton">
        Sign out
      </button>
    </form>
  );
}
