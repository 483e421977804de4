// An account at a glance: what is wrong and how to fix it (first, in red when a person must act),
// the health figures, the open failures, the latest syncs, the settings and the account controls.
import { diagnose } from "@/lib/features/dashboard/diagnosis";
import { flashFromQuery } from "@/lib/features/dashboard/flash";
import { backfillLabel, formatCount, formatPercent, plural, relativeTime } from "@/lib/features/dashboard/format";
import { accountHealth, ERROR_RATE_WINDOW_HOURS, pendingDeals, type AccountHealth } from "@/lib/features/dashboard/health";
import { settingsSummary, type SettingsSummary } from "@/lib/features/dashboard/settings-summary";
import { readLogPage } from "@/lib/features/dashboard/sync-log";
import type { AuthorizedAccount } from "@/lib/features/dashboard/access";
import { pauseAction, reregisterWebhookAction, resumeAction } from "../../actions";
import { AccountHeader } from "../../_components/account-header";
import { FailureTable } from "../../_components/failure-table";
import { LogTable } from "../../_components/log-table";
import { Notices } from "../../_components/notices";
import { requireAccount } from "../../_components/page-access";
import { Card, Empty, FlashBar, Stat, Time } from "../../_components/ui";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ accountId: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> };

function HealthStats({ health, account }: { health: AccountHealth; account: AuthorizedAccount }) {
  const now = new Date();
  const { last24h } = health;
  const runs = last24h.ok + last24h.skipped + last24h.retrying + last24h.failed;
  const backfill = health.backfill;
  const token = health.token;
  return (
    <div className="d-stats">
      <Stat
        label="Last sync"
        testId="stat-last-sync"
        value={health.lastOkAt ? relativeTime(health.lastOkAt, now) : "never"}
        note={
          health.lastSyncAt && health.lastSyncAt.getTime() !== health.lastOkAt?.getTime() ? (
            <>
              last attempt <Time date={health.lastSyncAt} relative now={now} />, not successful
            </>
          ) : (
            "last successful deal sync"
          )
        }
      />
      <Stat
        label={`Error rate ${ERROR_RATE_WINDOW_HOURS}h`}
        testId="stat-error-rate"
        value={formatPercent(health.errorRate)}
        // Red only while failures wait for a person; failures already dealt with are history.
        tone={health.errorRate === null ? undefined : health.errorRate === 0 ? "success" : health.openFailures.deals > 0 ? "critical" : "warning"}
        note={`${plural(runs, "sync")} · ${formatCount(last24h.failed)} failed · ${formatCount(last24h.retrying)} retried`}
      />
      <Stat
        label="Queue"
        testId="stat-queue"
        value={formatCount(health.queue.waiting + health.queue.running)}
        note={`${formatCount(health.queue.waiting)} waiting · ${formatCount(health.queue.running)} running`}
      />
      <Stat
        label="Kommo connection"
        testId="stat-token"
        value={token.state === "ok" ? "Connected" : token.state === "needs_reauth" ? "Re-authorize" : "Uninstalled"}
        tone={token.state === "ok" ? "success" : "critical"}
        note={
          token.state === "ok"
            ? token.expiresAt
              ? `token renews ${relativeTime(token.expiresAt, now)}`
              : "token ready"
            : (token.reason ?? "a Kommo administrator reinstalls the integration")
        }
      />
      <Stat
        label="Backfill"
        testId="stat-backfill"
        value={backfill ? backfillLabel(backfill) : "Not run"}
        progress={backfill && backfill.total ? backfill.done / Math.max(1, backfill.total) : undefined}
        note={
          backfill
            ? `${formatCount(backfill.done)}${backfill.total ? ` of ${plural(backfill.total, "deal")}` : " deals"}${backfill.errors ? ` · ${plural(backfill.errors, "error")}` : ""}`
            : account.klaviyoApiKeyEnc
              ? "start it in the widget settings"
              : "after Klaviyo is connected"
        }
      />
    </div>
  );
}

/** A Klaviyo list by name when Klaviyo told us, by id otherwise. */
function ListName({ id, names }: { id: string; names: SettingsSummary["listNames"] }) {
  const name = names?.get(id);
  return name ? <span title={`Klaviyo list ${id}`}>{name}</span> : <span className="d-mono">{id}</span>;
}

function SettingsCard({ settings, account }: { settings: SettingsSummary; account: AuthorizedAccount }) {
  const events = Object.entries(settings.events) as [string, string | null][];
  const eventLabels: Record<string, string> = { dealCreated: "Deal created", stageChanged: "Stage changed", dealWon: "Deal won", dealLost: "Deal lost" };
  return (
    <Card title="Settings" testId="settings-card">
      <div className="d-card__body">
        <dl className="d-dl">
          <dt>Klaviyo</dt>
          <dd data-testid="klaviyo-key">
            {settings.klaviyo.connected ? (
              <>
                {settings.klaviyo.accountName ?? "Connected"} <span className="d-mono d-muted">{settings.klaviyo.keyHint}</span>
              </>
            ) : (
              <span className="d-muted">not connected</span>
            )}
          </dd>
          <dt>Stage lists</dt>
          <dd>
            {settings.stageLists.length === 0 ? (
              <span className="d-muted">none mapped</span>
            ) : (
              settings.stageLists.map((entry) => (
                <div key={`${entry.pipelineId}:${entry.statusId}`}>
                  {entry.stageName} → <ListName id={entry.listId} names={settings.listNames} />
                </div>
              ))
            )}
          </dd>
          <dt>All deals list</dt>
          <dd>{settings.allDealsListId ? <ListName id={settings.allDealsListId} names={settings.listNames} /> : <span className="d-muted">none</span>}</dd>
          <dt>Leaving a stage</dt>
          <dd>{settings.removeFromPreviousList ? "removes from its list" : "keeps list membership"}</dd>
          <dt>Events</dt>
          <dd>
            {events.map(([key, name]) => (
              <div key={key}>
                {eventLabels[key] ?? key}: {name ? <>“{name}”</> : <span className="d-muted">off</span>}
              </div>
            ))}
          </dd>
          <dt>Email notes</dt>
          <dd>{settings.activityNotes ? "added to deals" : "off"}</dd>
          <dt>Webhook</dt>
          <dd>{account.webhookRegisteredAt ? <>registered <Time date={account.webhookRegisteredAt} relative /></> : <span className="d-muted">not registered</span>}</dd>
        </dl>
        <p className="d-stat__note" style={{ marginTop: 14 }}>
          Change these in Kommo → Settings → Integrations → Klaviyo Sync.
        </p>
      </div>
    </Card>
  );
}

function ControlsCard({ account, returnTo }: { account: AuthorizedAccount; returnTo: string }) {
  const hidden = (
    <>
      <input type="hidden" name="accountId" value={account.id} />
      <input type="hidden" name="returnTo" value={returnTo} />
    </>
  );
  const disabled = account.status === "disconnected";
  return (
    <Card title="Controls" testId="controls-card">
      <div className="d-card__body d-controls">
        <form action={account.paused ? resumeAction : pauseAction} className="d-control">
          {hidden}
          <div>
            <strong>{account.paused ? "Syncing is paused" : "Syncing is on"}</strong>
            <p>{account.paused ? "Changes are kept and sent when you resume." : "Pause to hold every change, e.g. while fixing the mapping."}</p>
          </div>
          <button type="submit" className="d-button d-button--small" disabled={disabled}>
            {account.paused ? "Resume" : "Pause"}
          </button>
        </form>
        <form action={reregisterWebhookAction} className="d-control">
          {hidden}
          <div>
            <strong>Kommo webhook</strong>
            <p>Register it again if deal changes stopped arriving.</p>
          </div>
          <button type="submit" className="d-button d-button--small" disabled={account.status !== "installed"}>
            Re-register
          </button>
        </form>
      </div>
    </Card>
  );
}

export default async function AccountPage({ params, searchParams }: Props) {
  const { accountId } = await params;
  const returnTo = `/dashboard/accounts/${accountId}`;
  const { viewer, account } = await requireAccount(accountId, returnTo);
  const [health, settings, recent, failures] = await Promise.all([
    accountHealth(account),
    settingsSummary(account),
    readLogPage(account, {}, null, 8),
    readLogPage(account, { openFailuresOnly: true }, null, 5),
  ]);
  const notices = diagnose(account, health, account.paused ? await pendingDeals(account) : 0);
  const flash = flashFromQuery(await searchParams);
  return (
    <main className="d-main">
      <AccountHeader viewer={viewer} account={account} notices={notices} active="overview" openFailures={health.openFailures.deals} />
      <FlashBar flash={flash} />
      <Notices notices={notices} account={account} returnTo={returnTo} />
      <HealthStats health={health} account={account} />
      <div className="d-section">
        <Card
          title={`Open failures${health.openFailures.deals ? ` · ${plural(health.openFailures.deals, "deal")}` : ""}`}
          action={failures.rows.length > 0 ? <a href={`${returnTo}/failures`}>All failures →</a> : undefined}
          testId="failures-card"
        >
          {failures.rows.length > 0 ? (
            <FailureTable rows={failures.rows} account={account} returnTo={returnTo} />
          ) : (
            <Empty title="No open failures">Every deal change either reached Klaviyo or is still being retried.</Empty>
          )}
        </Card>
      </div>
      <div className="d-grid-2 d-section">
        <Card title="Latest syncs" action={<a href={`${returnTo}/log`}>Full sync log →</a>} testId="recent-card">
          {recent.rows.length > 0 ? (
            <LogTable rows={recent.rows} accountId={account.id} listNames={settings.listNames} compact />
          ) : (
            <Empty title="No syncs yet">Deal changes in Kommo appear here within seconds.</Empty>
          )}
        </Card>
        <div className="d-stack">
          <SettingsCard settings={settings} account={account} />
          <ControlsCard account={account} returnTo={returnTo} />
        </div>
      </div>
    </main>
  );
}
