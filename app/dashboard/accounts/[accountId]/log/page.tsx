// The account's sync log: every sync attempt, newest first, filtered by outcome, deal and time
// range, a page at a time (keyset pagination: "Older" carries the position, not an offset).
import { diagnose } from "@/lib/features/dashboard/diagnosis";
import { utcInputValue } from "@/lib/features/dashboard/format";
import { accountHealth } from "@/lib/features/dashboard/health";
import { klaviyoListNames } from "@/lib/features/widget-api/list-names";
import { OUTCOME_LABELS } from "@/lib/features/dashboard/format";
import { parseLogQuery, readLogPage, SYNC_STATUSES, type LogFilters } from "@/lib/features/dashboard/sync-log";
import { AccountHeader } from "../../../_components/account-header";
import { LogTable } from "../../../_components/log-table";
import { requireAccount } from "../../../_components/page-access";
import { Card, Empty } from "../../../_components/ui";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ accountId: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> };

/** The query string of these filters (the cursor is added for the next page). */
function filterQuery(filters: LogFilters, extra: Record<string, string> = {}): string {
  const query = new URLSearchParams();
  if (filters.status) query.set("status", filters.status);
  if (filters.leadId !== undefined) query.set("lead", String(filters.leadId));
  if (filters.from) query.set("from", utcInputValue(filters.from));
  if (filters.to) query.set("to", utcInputValue(filters.to));
  for (const [key, value] of Object.entries(extra)) query.set(key, value);
  const text = query.toString();
  return text ? `?${text}` : "";
}

export default async function SyncLogPage({ params, searchParams }: Props) {
  const { accountId } = await params;
  const base = `/dashboard/accounts/${accountId}/log`;
  const { viewer, account } = await requireAccount(accountId, base);
  const parsed = parseLogQuery(await searchParams);
  const filters = parsed.success ? parsed.data.filters : {};
  const cursor = parsed.success ? parsed.data.cursor : null;
  const [health, page, listNames] = await Promise.all([accountHealth(account), readLogPage(account, filters, cursor), klaviyoListNames(account)]);
  const notices = diagnose(account, health);
  const filtered = Boolean(filters.status || filters.leadId !== undefined || filters.from || filters.to);
  return (
    <main className="d-main">
      <AccountHeader viewer={viewer} account={account} notices={notices} active="log" openFailures={health.openFailures.deals} />
      {!parsed.success && (
        <div className="d-flash d-flash--warning" role="alert" data-testid="filter-error">
          {parsed.error.issues[0]?.message ?? "These filters are not valid."} The filters were reset.
        </div>
      )}
      <Card testId="log-card">
        <form method="get" action={base} className="d-filters" style={{ borderBottom: "1px solid var(--d-border)" }}>
          <label className="d-field">
            Outcome
            <select name="status" defaultValue={filters.status ?? ""}>
              <option value="">All outcomes</option>
              {SYNC_STATUSES.map((status) => (
                <option key={status} value={status}>
                  {OUTCOME_LABELS[status]}
                </option>
              ))}
            </select>
          </label>
          <label className="d-field">
            Kommo deal ID
            <input type="text" inputMode="numeric" pattern="[0-9]*" name="lead" placeholder="e.g. 10000123" defaultValue={filters.leadId ?? ""} />
          </label>
          <label className="d-field">
            From (UTC)
            <input type="datetime-local" name="from" defaultValue={filters.from ? utcInputValue(filters.from) : ""} />
          </label>
          <label className="d-field">
            To (UTC)
            <input type="datetime-local" name="to" defaultValue={filters.to ? utcInputValue(filters.to) : ""} />
          </label>
          <button type="submit" className="d-button d-button--primary">
            Apply
          </button>
          {filtered && (
            <a className="d-button" href={base}>
              Reset
            </a>
          )}
        </form>
        {page.rows.length > 0 ? (
          <LogTable rows={page.rows} accountId={account.id} listNames={listNames} />
        ) : (
          <Empty title={filtered ? "No syncs match these filters" : "No syncs yet"}>
            {filtered ? "Widen the time range or clear a filter." : "Deal changes in Kommo appear here within seconds."}
          </Empty>
        )}
        <div className="d-pager">
          <span>{cursor ? <a href={`${base}${filterQuery(filters)}`}>← Newest</a> : "Newest first"}</span>
          <span>
            {page.next ? (
              <a href={`${base}${filterQuery(filters, { cursor: page.next })}`} data-testid="older-page">
                Older →
              </a>
            ) : (
              page.rows.length > 0 && "End of the log"
            )}
          </span>
        </div>
      </Card>
    </main>
  );
}
