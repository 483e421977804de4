// Small presentational pieces shared by the dashboard pages.
import type { ReactNode } from "react";
import type { SyncStatus } from "@/lib/db/client";
import type { Flash } from "@/lib/features/dashboard/flash";
import { formatUtc, formatUtcShort, OUTCOME_LABELS, relativeTime } from "@/lib/features/dashboard/format";

export type Tone = "success" | "critical" | "warning" | "info" | "neutral";

export function Pill({ tone, children, testId }: { tone: Tone; children: ReactNode; testId?: string }) {
  return (
    <span className={`d-pill d-pill--${tone}`} data-testid={testId}>
      {children}
    </span>
  );
}

const OUTCOME_TONES: Record<SyncStatus, Tone> = { ok: "success", skipped: "neutral", retrying: "warning", failed: "critical" };

export function OutcomePill({ status, resolution }: { status: SyncStatus; resolution?: string | null }) {
  if (status === "failed" && resolution) {
    return <Pill tone="neutral">{resolution === "replayed" ? "Failed · replayed" : resolution === "dismissed" ? "Failed · dismissed" : "Failed · fixed later"}</Pill>;
  }
  return <Pill tone={OUTCOME_TONES[status]}>{OUTCOME_LABELS[status]}</Pill>;
}

/** A time in UTC: in full, short (for tables headed "UTC"), or relative ("5 min ago"); the full time is the tooltip. */
export function Time({ date, relative, short, now }: { date: Date | null; relative?: boolean; short?: boolean; now?: Date }) {
  if (!date) return <span className="d-muted">never</span>;
  return (
    <time dateTime={date.toISOString()} title={formatUtc(date)}>
      {relative ? relativeTime(date, now) : short ? formatUtcShort(date) : formatUtc(date)}
    </time>
  );
}

export function Card({ title, action, children, testId }: { title?: ReactNode; action?: ReactNode; children: ReactNode; testId?: string }) {
  return (
    <section className="d-card" data-testid={testId}>
      {title !== undefined && (
        <header className="d-card__head">
          <h2>{title}</h2>
          {action}
        </header>
      )}
      {children}
    </section>
  );
}

export function Stat({
  label,
  value,
  note,
  tone,
  progress,
  testId,
}: {
  label: string;
  value: ReactNode;
  note?: ReactNode;
  tone?: "critical" | "warning" | "success";
  progress?: number;
  testId?: string;
}) {
  return (
    <div className="d-card d-stat" data-testid={testId}>
      <div className="d-stat__label">{label}</div>
      <div className={`d-stat__value${tone ? ` d-stat__value--${tone}` : ""}`}>{value}</div>
      {progress !== undefined && (
        <div className="d-progress" role="progressbar" aria-valuenow={Math.round(progress * 100)} aria-valuemin={0} aria-valuemax={100}>
          <span style={{ width: `${Math.min(100, Math.max(0, progress * 100))}%` }} />
        </div>
      )}
      {note && <div className="d-stat__note">{note}</div>}
    </div>
  );
}

export function FlashBar({ flash }: { flash: Flash | null }) {
  if (!flash) return null;
  return (
    <div className={`d-flash d-flash--${flash.tone}`} role="status" data-testid="flash">
      {flash.text}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="d-empty">
      <strong>{title}</strong>
      {children}
    </div>
  );
}
