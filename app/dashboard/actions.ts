"use server";
// The dashboard's server actions. Next.js accepts them only as POSTs whose Origin matches the
// app's host (its CSRF protection for actions), and the session cookie is SameSite=Lax; each
// action then checks the session and the account itself, as if it were a public endpoint.
import { notFound, redirect } from "next/navigation";
import { AccountNotVisibleError, authorizeAccount, type AuthorizedAccount } from "@/lib/features/dashboard/access";
import { failureSelectionFrom, returnPath } from "@/lib/features/dashboard/action-input";
import { SIGN_IN_PAGE } from "@/lib/features/dashboard/auth/sign-in-policy";
import { currentViewer } from "@/lib/features/dashboard/auth/sessions";
import type { FlashCode } from "@/lib/features/dashboard/flash";
import { dismissFailures, OperationRefusedError, reregisterWebhook, replayFailures, setPaused } from "@/lib/features/dashboard/operations";

async function accountOf(form: FormData): Promise<AuthorizedAccount> {
  const viewer = await currentViewer();
  if (!viewer) redirect(`${SIGN_IN_PAGE}?error=session_required`);
  try {
    return await authorizeAccount(viewer, form.get("accountId"));
  } catch (error) {
    if (error instanceof AccountNotVisibleError) notFound();
    throw error;
  }
}

/** Back to the page the form was on, with the outcome to show. */
function back(form: FormData, account: AuthorizedAccount, code: FlashCode, count = 0): never {
  redirect(`${returnPath(form, account.id)}?${new URLSearchParams({ done: code, n: String(count) })}`);
}

async function run(form: FormData, account: AuthorizedAccount, work: () => Promise<[FlashCode, number?]>): Promise<never> {
  let outcome: [FlashCode, number?];
  try {
    outcome = await work();
  } catch (error) {
    if (!(error instanceof OperationRefusedError)) throw error;
    outcome = [error.code];
  }
  back(form, account, outcome[0], outcome[1]);
}

export async function replayFailuresAction(form: FormData): Promise<void> {
  const account = await accountOf(form);
  const selection = failureSelectionFrom(form);
  if (!selection) back(form, account, "invalid_selection");
  await run(form, account, async () => {
    const { deals } = await replayFailures(account, selection);
    return deals > 0 ? ["replayed", deals] : ["nothing_open"];
  });
}

export async function dismissFailuresAction(form: FormData): Promise<void> {
  const account = await accountOf(form);
  const selection = failureSelectionFrom(form);
  if (!selection) back(form, account, "invalid_selection");
  await run(form, account, async () => {
    const { deals } = await dismissFailures(account, selection);
    return deals > 0 ? ["dismissed", deals] : ["nothing_open"];
  });
}

export async function pauseAction(form: FormData): Promise<void> {
  const account = await accountOf(form);
  await run(form, account, async () => {
    await setPaused(account, true);
    return ["paused"];
  });
}

export async function resumeAction(form: FormData): Promise<void> {
  const account = await accountOf(form);
  await run(form, account, async () => {
    const { queued } = await setPaused(account, false);
    return ["resumed", queued];
  });
}

export async function reregisterWebhookAction(form: FormData): Promise<void> {
  const account = await accountOf(form);
  await run(form, account, async () => ((await reregisterWebhook(account)).registered ? ["webhook_registered"] : ["webhook_refused"]));
}
