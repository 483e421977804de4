// The account's failures that nobody has dealt with yet (its dead letters): replay one, the ones
// ticked, everything since a time, or everything; or dismiss them.
import { diagnose } from "@/lib/features/dashboard/diagnosis";
import { flashFromQuery } from "@/lib/features/dashboard/flash";
import { utcInputValue } from "@/lib/features/dashboard/format";
import { accountHealth } from "@/lib/features/dashboard/health";
import { decodeCursor, readLogPage } from "@/lib/features/dashboard/sync-log";
import { replayFailuresAction } from "../../../actions";
import { AccountHeader } from "../../../_components/account-header";
import { FailureTable } from "../../../_components/failure-table";
import { Notices } from "../../../_components/notices";
import { requireAccount } from "../../../_components/page-access";
import { Card, Empty, FlashBar } from "../../../_components/ui";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ accountId: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function FailuresPage({ params, searchParams }: Props) {
  const { accountId } = await params;
  const base = `/dashboard/accounts/${accountId}/failures`;
  const { viewer, account } = await requireAccount(accountId, base);
  const query = await searchParams;
  const cursor = typeof query.cursor === "string" ? decodeCursor(query.cursor) : null;
  const [health, page] = await Promise.all([accountHealth(account), readLogPage(account, { openFailuresOnly: true }, cursor)]);
  const notices = diagnose(account, health);
  const dayAgo = utcInputValue(new Date(Date.now() - 86_400_000));
  return (
    <main className="d-main">
      <AccountHeader viewer={viewer} account={account} notices={notices} active="failures" openFailures={health.openFailures.deals} />
      <FlashBar flash={flashFromQuery(query)} />
      <Notices notices={notices.filter((notice) => notice.action === "replay_all")} account={account} returnTo={base} />
      <Card
        title="Failures waiting for a person"
        testId="failures-card"
        action={
          page.rows.length > 0 && (
            <form action={replayFailuresAction} className="d-inline-form">
              <input type="hidden" name="accountId" value={account.id} />
              <input type="hidden" name="returnTo" value={base} />
              <input type="hidden" name="scope" value="since" />
              <label className="d-field">
                Replay every failure since (UTC)
                <input type="datetime-local" name="since" defaultValue={dayAgo} required />
              </label>
              <button type="submit" className="d-button">
                Replay since
              </button>
            </form>
          )
        }
      >
        {page.rows.length > 0 ? (
          <FailureTable rows={page.rows} account={account} returnTo={base} />
        ) : (
          <Empty title="Nothing to replay">Failures appear here when a deal cannot be synced after its retries, or when a person has to fix something first.</Empty>
        )}
        {(cursor || page.next) && (
          <div className="d-pager">
            <span>{cursor && <a href={base}>← Newest</a>}</span>
            <span>{page.next && <a href={`${base}?cursor=${page.next}`}>Older →</a>}</span>
          </div>
        )}
      </Card>
    </main>
  );
}
