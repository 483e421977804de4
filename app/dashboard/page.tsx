// The dashboard's first screen. An account admin goes straight to their account; an operator sees
// every account, the ones that need a person first, with the figures that tell them apart.
import { redirect } from "next/navigation";
import { listVisibleAccounts } from "@/lib/features/dashboard/access";
import { diagnose } from "@/lib/features/dashboard/diagnosis";
import { backfillLabel, formatCount, formatPercent, plural, relativeTime } from "@/lib/features/dashboard/format";
import { accountsHealth } from "@/lib/features/dashboard/health";
import { accountState } from "./_components/account-header";
import { requireViewer } from "./_components/page-access";
import { Card, Empty, Pill, Stat } from "./_components/ui";

export const dynamic = "force-dynamic";

const SEVERITY = { critical: 0, warning: 1, info: 2, neutral: 3, success: 4 } as const;

export default async function DashboardHome() {
  const viewer = await requireViewer("/dashboard");
  const accounts = await listVisibleAccounts(viewer);
  if (!viewer.operator && accounts.length === 1) redirect(`/dashboard/accounts/${accounts[0]!.id}`);
  const health = await accountsHealth(accounts);
  const now = new Date();
  const rows = accounts
    .map((account) => {
      const accountHealth = health.get(account.id)!;
      const notices = diagnose(account, accountHealth);
      return { account, health: accountHealth, notices, state: accountState(account, notices) };
    })
    .sort((a, b) => SEVERITY[a.state.tone] - SEVERITY[b.state.tone] || (a.account.name ?? "").localeCompare(b.account.name ?? ""));
  const needing = rows.filter((row) => row.state.tone === "critical").length;
  const total = (pick: (health: (typeof rows)[number]["health"]) => number) => rows.reduce((sum, row) => sum + pick(row.health), 0);
  const runs = total((h) => h.last24h.ok + h.last24h.skipped + h.last24h.retrying + h.last24h.failed);
  const failed = total((h) => h.last24h.failed);
  const finished = total((h) => h.last24h.ok + h.last24h.skipped + h.last24h.failed);
  const openFailures = total((h) => h.openFailures.deals);

  return (
    <main className="d-main">
      <div className="d-pagehead">
        <div>
          <h1>{viewer.operator ? "All accounts" : "Your accounts"}</h1>
          <div className="d-pagehead__meta">Every Kommo account with Klaviyo Sync installed; the ones that need a person come first.</div>
        </div>
      </div>
      {rows.length > 0 && (
        <div className="d-stats" style={{ marginBottom: 24 }}>
          <Stat label="Accounts" value={formatCount(rows.length)} note={`${formatCount(rows.filter((row) => row.account.paused).length)} paused`} />
          <Stat label="Need attention" testId="stat-attention" value={formatCount(needing)} tone={needing > 0 ? "critical" : "success"} note={needing > 0 ? "a person must act" : "nothing waiting for a person"} />
          <Stat label="Open failures" value={formatCount(openFailures)} tone={openFailures > 0 ? "critical" : undefined} note={plural(openFailures, "deal") + " to replay or dismiss"} />
          <Stat label="Syncs 24h" value={formatCount(runs)} note={`error rate ${formatPercent(finished > 0 ? failed / finished : null)}`} />
          <Stat label="Queue" value={formatCount(total((h) => h.queue.waiting + h.queue.running))} note={`${formatCount(total((h) => h.queue.running))} running now`} />
        </div>
      )}
      <Card testId="accounts-card">
        {rows.length === 0 ? (
          <Empty title="No accounts to show">
            {viewer.operator ? "No Kommo account has installed Klaviyo Sync yet." : "Klaviyo Sync is not installed in your Kommo account."}
          </Empty>
        ) : (
          <div className="d-table-wrap">
            <table className="d-table" data-testid="accounts-table">
              <thead>
                <tr>
                  <th>Account</th>
                  <th>State</th>
                  <th>What needs doing</th>
                  <th>Last sync</th>
                  <th className="d-right">Syncs 24h</th>
                  <th className="d-right">Queue</th>
                  <th className="d-right">Open failures</th>
                  <th>Kommo token</th>
                  <th>Backfill</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(({ account, health: h, notices, state }) => {
                  const runs = h.last24h.ok + h.last24h.skipped + h.last24h.retrying + h.last24h.failed;
                  return (
                    <tr key={account.id} data-testid="account-row" data-account={account.id}>
                      <td>
                        <a href={`/dashboard/accounts/${account.id}`} style={{ fontWeight: 600 }}>
                          {account.name ?? account.subdomain}
                        </a>
                        <div className="d-table__sub">{account.host}</div>
                      </td>
                      <td>
                        <Pill tone={state.tone}>{state.label}</Pill>
                      </td>
                      <td style={{ maxWidth: 300 }}>{notices[0] ? notices[0].title : <span className="d-muted">Nothing</span>}</td>
                      <td style={{ whiteSpace: "nowrap" }}>{h.lastOkAt ? relativeTime(h.lastOkAt, now) : <span className="d-muted">never</span>}</td>
                      <td className="d-right d-num" style={{ whiteSpace: "nowrap" }}>
                        {formatCount(runs)}
                        {h.errorRate !== null && <div className="d-table__sub">{formatPercent(h.errorRate)} failed</div>}
                      </td>
                      <td className="d-right d-num">{formatCount(h.queue.waiting + h.queue.running)}</td>
                      <td className="d-right d-num" style={h.openFailures.deals ? { color: "var(--d-critical)", fontWeight: 600 } : undefined}>
                        {formatCount(h.openFailures.deals)}
                      </td>
                      <td style={{ whiteSpace: "nowrap" }}>
                        {h.token.state === "ok" ? (
                          <Pill tone="success">OK</Pill>
                        ) : (
                          <Pill tone="critical">{h.token.state === "needs_reauth" ? "Re-authorize" : "Revoked"}</Pill>
                        )}
                      </td>
                      <td style={{ whiteSpace: "nowrap" }}>
                        {h.backfill ? backfillLabel(h.backfill) : <span className="d-muted">–</span>}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </main>
  );
}
