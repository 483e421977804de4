// Open failures with their controls: tick rows and replay or dismiss them together, or use a row's
// own Replay button. Replay and dismiss act on whole deals (see lib/features/dashboard/operations.ts).
import type { AuthorizedAccount } from "@/lib/features/dashboard/access";
import { describeErrorCode, describeTrigger } from "@/lib/features/dashboard/format";
import type { LogRow } from "@/lib/features/dashboard/sync-log";
import { dismissFailuresAction, replayFailuresAction } from "../actions";
import { Time } from "./ui";

export function FailureTable({ rows, account, returnTo }: { rows: LogRow[]; account: AuthorizedAccount; returnTo: string }) {
  return (
    <form action={replayFailuresAction}>
      <input type="hidden" name="accountId" value={account.id} />
      <input type="hidden" name="returnTo" value={returnTo} />
      <div className="d-toolbar">
        <span className="d-muted">Tick failures to act on several deals at once.</span>
        <span className="d-inline-form">
          <button type="submit" className="d-button d-button--primary d-button--small">
            Replay selected
          </button>
          <button type="submit" formAction={dismissFailuresAction} className="d-button d-button--small">
            Dismiss selected
          </button>
        </span>
      </div>
      <div className="d-table-wrap">
        <table className="d-table" data-testid="failure-table">
          <thead>
            <tr>
              <th style={{ width: 32 }}>
                <span className="d-muted" aria-hidden="true">
                  ✓
                </span>
              </th>
              <th>Failed at (UTC)</th>
              <th>Deal</th>
              <th>Cause</th>
              <th>Error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id} data-testid="failure-row" data-lead={row.leadId}>
                <td>
                  <input type="checkbox" name="ids" value={row.id} aria-label={`Select the failure of deal ${row.leadId}`} />
                </td>
                <td className="d-num" style={{ whiteSpace: "nowrap" }}>
                  <Time date={row.createdAt} short />
                  <div className="d-table__sub">
                    {describeTrigger(row.trigger)}
                    {row.attempt > 1 ? `, attempt ${row.attempt}` : ""}
                  </div>
                </td>
                <td>
                  <a href={`/dashboard/accounts/${account.id}/deals/${row.leadId}`} className="d-mono">
                    #{row.leadId}
                  </a>
                  {row.email && <div className="d-table__sub">{row.email}</div>}
                </td>
                <td style={{ whiteSpace: "nowrap" }}>{describeErrorCode(row.errorCode)}</td>
                <td className="d-table__error" data-testid="log-error">
                  {row.error}
                </td>
                <td className="d-right">
                  <button type="submit" name="one" value={row.id} className="d-button d-button--small" aria-label={`Replay deal ${row.leadId}`}>
                    Replay
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </form>
  );
}
