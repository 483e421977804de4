// The forms of the dashboard's actions, parsed with zod before anything is done: the account,
// where to return to, and which failures are meant.
import { z } from "zod";
import { failureSelectionSchema, type FailureSelection } from "./operations";

/** A path inside this account's pages (never another site: the action redirects there). */
const returnToSchema = (accountId: string) =>
  z
    .string()
    .regex(/^\/dashboard\/accounts\/[0-9a-f-]{36}(\/[A-Za-z0-9/_-]*)?$/)
    .refine((path) => path.startsWith(`/dashboard/accounts/${accountId}`));

export function returnPath(form: FormData, accountId: string): string {
  const parsed = returnToSchema(accountId).safeParse(form.get("returnTo"));
  return parsed.success ? parsed.data : `/dashboard/accounts/${accountId}`;
}

/** A `datetime-local` value (no zone) is read as UTC, the zone the dashboard shows times in. */
export function utcFromLocalInput(value: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return null;
  const date = new Date(`${value}Z`);
  // A date that does not exist (31 February) would roll over into another one: refused instead.
  return Number.isNaN(date.getTime()) || !date.toISOString().startsWith(value.slice(0, 16)) ? null : date;
}

/**
 * Which failures a replay or dismiss form means: the row whose own button was pressed (`one`), the
 * rows ticked (`ids`), every open one since a time (`scope=since`), or all (`scope=all`).
 */
export function failureSelectionFrom(form: FormData): FailureSelection | null {
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === "string" ? value : null;
  };
  const one = text("one");
  let candidate: unknown;
  if (one) candidate = { kind: "ids", ids: [one] };
  else if (text("scope") === "all") candidate = { kind: "all" };
  else if (text("scope") === "since") candidate = { kind: "since", since: utcFromLocalInput(text("since") ?? "") };
  else candidate = { kind: "ids", ids: form.getAll("ids").filter((value) => typeof value === "string") };
  const parsed = failureSelectionSchema.safeParse(candidate);
  return parsed.success ? parsed.data : null;
}
