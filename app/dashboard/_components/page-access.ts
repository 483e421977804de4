// The first lines of every dashboard page: who is asking (else the sign-in page), and whether the
// account in the URL is theirs (else 404, as for an account that does not exist).
import { notFound, redirect } from "next/navigation";
import { AccountNotVisibleError, authorizeAccount, type AuthorizedAccount } from "@/lib/features/dashboard/access";
import { SIGN_IN_PAGE } from "@/lib/features/dashboard/auth/sign-in-policy";
import { currentViewer } from "@/lib/features/dashboard/auth/sessions";
import type { Viewer } from "@/lib/features/dashboard/auth/viewer";

export async function requireViewer(returnTo: string): Promise<Viewer> {
  const viewer = await currentViewer();
  if (!viewer) redirect(`${SIGN_IN_PAGE}?${new URLSearchParams({ callbackUrl: returnTo })}`);
  return viewer;
}

export async function requireAccount(accountId: string, returnTo: string): Promise<{ viewer: Viewer; account: AuthorizedAccount }> {
  const viewer = await requireViewer(returnTo);
  try {
    return { viewer, account: await authorizeAccount(viewer, accountId) };
  } catch (error) {
    if (error instanceof AccountNotVisibleError) notFound();
    throw error;
  }
}
