// How the dashboard words things: times (always UTC, so that two people reading one screen see the
// same numbers), durations, outcomes, triggers and the Klaviyo operations of a sync.
import { DIGITAL_PIPELINE_TRIGGER_PREFIX } from "@/lib/features/digital-pipeline/trigger";
import { z } from "zod";
import { describeCode } from "@/lib/outcomes";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (value: number) => String(value).padStart(2, "0");

/** "26 Nov 2026, 04:48:12 UTC" */
export function formatUtc(date: Date, options: { seconds?: boolean } = {}): string {
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}${options.seconds === false ? "" : `:${pad(date.getUTCSeconds())}`}`;
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${time} UTC`;
}

/** "26 Nov, 04:48:12": for tables whose header already says UTC (the year is in the tooltip). */
export function formatUtcShort(date: Date): string {
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
}

/** "1 deal", "2 deals" */
export const plural = (count: number, noun: string) => `${count.toLocaleString("en-US")} ${count === 1 ? noun : `${noun}s`}`;

/** The value of a datetime-local input showing `date` in UTC ("2026-11-26T04:48"). */
export function utcInputValue(date: Date): string {
  return date.toISOString().slice(0, 16);
}

/** "just now", "5 min ago", "3 h ago", "2 days ago"; future times (token expiry) as "in 3 h". */
export function relativeTime(date: Date, now = new Date()): string {
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  const future = seconds < 0;
  const abs = Math.abs(seconds);
  const say = (text: string) => (future ? `in ${text}` : `${text} ago`);
  if (abs < 45) return future ? "in a moment" : "just now";
  if (abs < 3600) return say(`${Math.round(abs / 60)} min`);
  if (abs < 86_400) return say(`${Math.round(abs / 3600)} h`);
  const days = Math.round(abs / 86_400);
  return say(`${days} ${days === 1 ? "day" : "days"}`);
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return "–";
  if (ms < 1000) return `${ms} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

export function formatPercent(share: number | null): string {
  if (share === null) return "–";
  if (share === 0) return "0%";
  if (share < 0.001) return "<0.1%";
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

export const formatCount = (value: number) => value.toLocaleString("en-US");

/** A backfill in one word: its progress while it runs, its outcome once it ended. */
export function backfillLabel(run: { status: string; done: number; total: number | null }): string {
  if (run.status === "running" && run.total) return formatPercent(run.done / Math.max(1, run.total));
  const labels: Record<string, string> = { queued: "Queued", running: "Running", completed: "Done", failed: "Failed", cancelled: "Cancelled" };
  return labels[run.status] ?? run.status;
}

export const OUTCOME_LABELS = { ok: "Synced", skipped: "Skipped", retrying: "Retrying", failed: "Failed" } as const;

const TRIGGER_LABELS: Record<string, string> = {
  add_lead: "Deal created",
  update_lead: "Deal updated",
  status_lead: "Stage changed",
  delete_lead: "Deal deleted",
  update_contact: "Contact updated",
  sync_now: "Sync now",
  recheck: "Re-check after a Klaviyo timeout",
  reconcile: "Reconciliation",
  backfill: "Backfill",
  digital_pipeline: "Digital Pipeline",
};

/** "status_lead,update_lead" -> "Stage changed, Deal updated" */
export function describeTrigger(trigger: string): string {
  // A Digital Pipeline action names its event (which may itself hold commas).
  if (trigger.startsWith(DIGITAL_PIPELINE_TRIGGER_PREFIX)) return `Digital Pipeline: ${trigger.slice(DIGITAL_PIPELINE_TRIGGER_PREFIX.length)}`;
  return trigger
    .split(",")
    .filter(Boolean)
    .map((kind) => TRIGGER_LABELS[kind] ?? kind.replace(/_/g, " "))
    .join(", ");
}

/** The words for a sync log's code (lib/outcomes.ts holds them). */
export const describeErrorCode = describeCode;

const operationSchema = z.object({ type: z.string(), target: z.string() });

/** The Klaviyo operations a sync applied, in words ("Profile updated", "Added to list Customers", …). */
export function describeOperations(operations: unknown, listNames?: ReadonlyMap<string, string> | null): string[] {
  const list = (id: string) => listNames?.get(id) ?? id;
  const parsed = z.array(operationSchema).safeParse(operations);
  if (!parsed.success) return [];
  return parsed.data.map(({ type, target }) => {
    switch (type) {
      case "upsertProfile":
        return "Profile updated";
      case "addToList":
        return `Added to list ${list(target)}`;
      case "removeFromList":
        return `Removed from list ${list(target)}`;
      case "createEvent":
        return `Event “${target}” sent`;
      default:
        return `${type} ${target}`;
    }
  });
}
