// One deal's history: every sync of it, what each sent to Klaviyo or why it failed, and its state.
import { notFound } from "next/navigation";
import { dealState } from "@/lib/db/deals";
import { kommoIdTextSchema } from "@/lib/integrations/kommo/ids";
import { diagnose } from "@/lib/features/dashboard/diagnosis";
import { flashFromQuery } from "@/lib/features/dashboard/flash";
import { accountHealth } from "@/lib/features/dashboard/health";
import { klaviyoListNames } from "@/lib/features/widget-api/list-names";
import { decodeCursor, readLogPage } from "@/lib/features/dashboard/sync-log";
import { replayFailuresAction } from "../../../../actions";
import { AccountHeader } from "../../../../_components/account-header";
import { LogTable } from "../../../../_components/log-table";
import { requireAccount } from "../../../../_components/page-access";
import { Card, Empty, FlashBar, OutcomePill, Stat, Time } from "../../../../_components/ui";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ accountId: string; leadId: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function DealPage({ params, searchParams }: Props) {
  const { accountId, leadId: rawLeadId } = await params;
  const base = `/dashboard/accounts/${accountId}/deals/${rawLeadId}`;
  const { viewer, account } = await requireAccount(accountId, base);
  const leadId = kommoIdTextSchema.safeParse(rawLeadId);
  if (!leadId.success) notFound();
  const query = await searchParams;
  const cursor = typeof query.cursor === "string" ? decodeCursor(query.cursor) : null;
  const [health, deal, history, openFailures, listNames] = await Promise.all([
    accountHealth(account),
    dealState(account.id, leadId.data),
    readLogPage(account, { leadId: leadId.data }, cursor),
    readLogPage(account, { leadId: leadId.data, openFailuresOnly: true }, null, 1),
    klaviyoListNames(account),
  ]);
  if (!deal && history.rows.length === 0) notFound();
  const notices = diagnose(account, health);
  const failing = openFailures.rows[0];
  return (
    <main className="d-main">
      <AccountHeader viewer={viewer} account={account} notices={notices} active="deal" openFailures={health.openFailures.deals} />
      <FlashBar flash={flashFromQuery(query)} />
      <div className="d-pagehead" style={{ marginBottom: 16 }}>
        <div>
          <h1 style={{ fontSize: 20 }}>
            Deal <span className="d-mono" style={{ fontSize: 18 }}>#{leadId.data}</span>
            {deal?.lastSyncStatus && <OutcomePill status={deal.lastSyncStatus} />}
          </h1>
          <div className="d-pagehead__meta">
            <a href={`https://${account.host}/leads/detail/${leadId.data}`} target="_blank" rel="noreferrer">
              Open in Kommo
            </a>
            {deal?.email && <span>{deal.email}</span>}
            {deal?.deletedAt && <span>deleted in Kommo</span>}
          </div>
        </div>
        {failing && (
          <form action={replayFailuresAction}>
            <input type="hidden" name="accountId" value={account.id} />
            <input type="hidden" name="returnTo" value={base} />
            <input type="hidden" name="one" value={failing.id} />
            <button type="submit" className="d-button d-button--primary">
              Replay this deal
            </button>
          </form>
        )}
      </div>
      {failing && (
        <div className="d-notices">
          <section className="d-notice d-notice--critical" role="alert">
            <div className="d-notice__icon" aria-hidden="true">
              !
            </div>
            <div>
              <h2 className="d-notice__title">This deal is not in Klaviyo as it is in Kommo</h2>
              <p className="d-notice__body" data-testid="deal-error">
                {failing.error}
              </p>
            </div>
            <div />
          </section>
        </div>
      )}
      <div className="d-stats" style={{ gridTemplateColumns: "repeat(4, minmax(0, 1fr))", marginBottom: 24 }}>
        <Stat label="Stage in Klaviyo" value={deal?.stageName ?? "–"} note={deal?.pipelineId ? `pipeline ${deal.pipelineId}` : undefined} />
        <Stat label="Last synced" value={deal?.lastSyncedAt ? <Time date={deal.lastSyncedAt} relative /> : "never"} />
        <Stat label="Klaviyo profile" value={<span className="d-mono" style={{ fontSize: 15 }}>{deal?.klaviyoProfileId ?? "–"}</span>} />
        <Stat label="Klaviyo lists" value={String(deal?.listIds.length ?? 0)} note={deal?.listIds.map((id) => listNames?.get(id) ?? id).join(", ") || "none"} />
      </div>
      <Card title="History" testId="deal-history">
        {history.rows.length > 0 ? <LogTable rows={history.rows} accountId={account.id} showDeal={false} listNames={listNames} /> : <Empty title="No syncs of this deal yet" />}
        {(cursor || history.next) && (
          <div className="d-pager">
            <span>{cursor && <a href={base}>← Newest</a>}</span>
            <span>{history.next && <a href={`${base}?cursor=${history.next}`}>Older →</a>}</span>
          </div>
        )}
      </Card>
    </main>
  );
}
