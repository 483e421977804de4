// Rows of the sync log: when, which deal, what triggered it, how it ended, what was sent to Klaviyo
// or the exact error, and what it cost (API calls, time).
import type { LogRow } from "@/lib/features/dashboard/sync-log";
import { describeErrorCode, describeOperations, describeTrigger, formatDuration } from "@/lib/features/dashboard/format";
import { OutcomePill, Time } from "./ui";

type ListNames = ReadonlyMap<string, string> | null | undefined;

function Details({ row, listNames }: { row: LogRow; listNames: ListNames }) {
  if (row.status === "ok") {
    const operations = describeOperations(row.operations, listNames);
    return (
      <>
        {operations.length > 0 ? (
          <ul className="d-ops">
            {operations.map((operation, index) => (
              <li key={index}>{operation}</li>
            ))}
          </ul>
        ) : (
          <span className="d-muted">Nothing changed for Klaviyo</span>
        )}
        {row.error && <div className="d-table__sub">Note: {row.error}</div>}
      </>
    );
  }
  if (row.status === "skipped") return <span className="d-muted">{row.error}</span>;
  // A failure someone already dealt with stays readable but no longer shouts.
  return (
    <div className={row.resolution ? "d-table__sub" : "d-table__error"} data-testid="log-error">
      {row.error}
    </div>
  );
}

/** `compact`: for a narrow column (the overview), without the cost columns and with the trigger under the time. */
export function LogTable({
  rows,
  accountId,
  showDeal = true,
  compact = false,
  listNames,
}: {
  rows: LogRow[];
  accountId: string;
  showDeal?: boolean;
  compact?: boolean;
  listNames?: ListNames;
}) {
  return (
    <div className="d-table-wrap">
      <table className="d-table" data-testid="log-table">
        <thead>
          <tr>
            <th>Time (UTC)</th>
            {showDeal && <th>Deal</th>}
            {!compact && <th>Trigger</th>}
            <th>Outcome</th>
            <th>What happened</th>
            {!compact && <th className="d-right">API calls</th>}
            {!compact && <th className="d-right">Took</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} data-testid="log-row" data-status={row.status} data-lead={row.leadId}>
              <td className="d-num" style={{ whiteSpace: "nowrap" }}>
                <Time date={row.createdAt} short />
                {compact && <div className="d-table__sub">{describeTrigger(row.trigger)}</div>}
                {row.attempt > 1 && <div className="d-table__sub">attempt {row.attempt}</div>}
              </td>
              {showDeal && (
                <td>
                  <a href={`/dashboard/accounts/${accountId}/deals/${row.leadId}`} className="d-mono">
                    #{row.leadId}
                  </a>
                  {row.email && <div className="d-table__sub">{row.email}</div>}
                </td>
              )}
              {!compact && <td>{describeTrigger(row.trigger)}</td>}
              <td>
                <OutcomePill status={row.status} resolution={row.resolution} />
                {(row.status === "failed" || row.status === "retrying") && row.errorCode && <div className="d-table__sub">{describeErrorCode(row.errorCode)}</div>}
              </td>
              <td>
                <Details row={row} listNames={listNames} />
              </td>
              {!compact && (
                <td className="d-right d-num d-table__sub" title="Kommo / Klaviyo requests" style={{ whiteSpace: "nowrap" }}>
                  {row.kommoCalls} / {row.klaviyoCalls}
                </td>
              )}
              {!compact && (
                <td className="d-right d-num d-table__sub" style={{ whiteSpace: "nowrap" }}>
                  {formatDuration(row.durationMs)}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
