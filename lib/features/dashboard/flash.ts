// The one-line outcome shown after a dashboard action. Actions redirect back with `?done=<code>`
// (and `n=<count>`); only these codes are shown, so a crafted link cannot put words on the page.
import { z } from "zod";

export const FLASH_CODES = [
  "replayed",
  "dismissed",
  "paused",
  "resumed",
  "webhook_registered",
  "webhook_refused",
  "nothing_open",
  "invalid_selection",
  "account_paused",
  "account_disconnected",
  "kommo_reauth_required",
] as const;
export type FlashCode = (typeof FLASH_CODES)[number];

export type Flash = { tone: "success" | "warning" | "error"; text: string };

const deals = (count: number) => `${count} ${count === 1 ? "deal" : "deals"}`;

export function flashMessage(code: FlashCode, count: number): Flash {
  switch (code) {
    case "replayed":
      return { tone: "success", text: `${deals(count)} queued again. Each one syncs with every change it was waiting for; watch the log below.` };
    case "dismissed":
      return { tone: "success", text: `${deals(count)} dismissed. They sync again at their next change in Kommo.` };
    case "paused":
      return { tone: "success", text: "Syncing is paused. Deal changes are kept and sent when you resume." };
    case "resumed":
      return { tone: "success", text: `Syncing resumed${count > 0 ? `; ${deals(count)} with waiting changes queued` : ""}.` };
    case "webhook_registered":
      return { tone: "success", text: "Kommo accepted the webhook: deal changes reach Klaviyo Sync again." };
    case "webhook_refused":
      return { tone: "error", text: "Kommo did not accept the webhook. The reason is shown above." };
    case "nothing_open":
      return { tone: "warning", text: "There was nothing to do: the selected failures were already dealt with." };
    case "invalid_selection":
      return { tone: "warning", text: "Select at least one failure, or give a valid time." };
    case "account_paused":
      return { tone: "warning", text: "Syncing is paused; resume it first, then replay." };
    case "account_disconnected":
      return { tone: "error", text: "Klaviyo Sync is uninstalled from this Kommo account; install it again first." };
    case "kommo_reauth_required":
      return { tone: "error", text: "Kommo access has to be granted again first: a Kommo administrator reinstalls Klaviyo Sync." };
  }
}

const flashQuerySchema = z.object({ done: z.enum(FLASH_CODES), n: z.coerce.number().int().min(0).max(1_000_000).default(0) });

export function flashFromQuery(query: Record<string, string | string[] | undefined>): Flash | null {
  const parsed = flashQuerySchema.safeParse({ done: query.done, n: query.n });
  return parsed.success ? flashMessage(parsed.data.done, parsed.data.n) : null;
}
