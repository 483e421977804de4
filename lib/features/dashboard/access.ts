// Which accounts a viewer may see and act on. Every dashboard read and write starts here: a page,
// server action or API route turns the account id it was given into an AuthorizedAccount, and the
// query and operation functions accept nothing else, so a forgotten check does not compile.
import { z } from "zod";
import { db, numberIds, type Account, type Prisma } from "@/lib/db/client";
import type { Viewer } from "@/lib/features/dashboard/auth/viewer";

declare const authorized: unique symbol;
/** An account row the current viewer was checked against. */
export type AuthorizedAccount = Account & { readonly [authorized]: true };

/** Answered as 404 everywhere: a viewer cannot tell another account's id from one that does not exist. */
export class AccountNotVisibleError extends Error {
  constructor() {
    super("no such account");
    this.name = "AccountNotVisibleError";
  }
}

/** Operators see every account; an account admin sees their own; nobody else sees any. */
export function visibleAccounts(viewer: Viewer): Prisma.AccountWhereInput {
  if (viewer.operator) return {};
  if (viewer.isAdmin) return { kommoAccountId: viewer.kommoAccountId };
  return { id: { in: [] } };
}

export async function authorizeAccount(viewer: Viewer, accountId: unknown): Promise<AuthorizedAccount> {
  const id = z.uuid().safeParse(accountId);
  if (!id.success) throw new AccountNotVisibleError();
  const account = await db().account.findFirst({ where: { AND: [{ id: id.data }, visibleAccounts(viewer)] } });
  if (!account) throw new AccountNotVisibleError();
  return numberIds(account) as AuthorizedAccount;
}

export async function listVisibleAccounts(viewer: Viewer): Promise<AuthorizedAccount[]> {
  const accounts = await db().account.findMany({ where: visibleAccounts(viewer), orderBy: [{ name: "asc" }, { subdomain: "asc" }] });
  return accounts.map((account) => numberIds(account) as AuthorizedAccount);
}
