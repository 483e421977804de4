// The account's notices: what is wrong, what it affects, how to fix it, and the button that
// finishes the fix from here (replay, resume, register the webhook again).
import type { AuthorizedAccount } from "@/lib/features/dashboard/access";
import type { Notice } from "@/lib/features/dashboard/diagnosis";
import { replayFailuresAction, reregisterWebhookAction, resumeAction } from "../actions";

const ICONS = { critical: "!", warning: "!", info: "i" } as const;

function ActionButton({ notice, account, returnTo }: { notice: Notice; account: AuthorizedAccount; returnTo: string }) {
  if (!notice.action) return null;
  const hidden = (
    <>
      <input type="hidden" name="accountId" value={account.id} />
      <input type="hidden" name="returnTo" value={returnTo} />
    </>
  );
  // While the cause is not fixed, a replay would fail again: the fix comes first, the replay second.
  const primary = notice.tone !== "critical";
  if (notice.action === "replay_all") {
    return (
      <form action={replayFailuresAction}>
        {hidden}
        <input type="hidden" name="scope" value="all" />
        <button type="submit" className={`d-button${primary ? " d-button--primary" : ""}`} style={{ width: "100%" }}>
          Replay {notice.affectedDeals} failed {notice.affectedDeals === 1 ? "deal" : "deals"}
        </button>
      </form>
    );
  }
  const [action, label] = notice.action === "resume" ? [resumeAction, "Resume syncing"] : [reregisterWebhookAction, "Register webhook again"];
  return (
    <form action={action}>
      {hidden}
      <button type="submit" className="d-button d-button--primary" style={{ width: "100%" }}>
        {label}
      </button>
    </form>
  );
}

export function Notices({ notices, account, returnTo }: { notices: Notice[]; account: AuthorizedAccount; returnTo: string }) {
  if (notices.length === 0) return null;
  return (
    <div className="d-notices">
      {notices.map((notice) => (
        <section key={notice.kind} className={`d-notice d-notice--${notice.tone}`} role={notice.tone === "critical" ? "alert" : "status"} data-testid={`notice-${notice.kind}`}>
          <div className="d-notice__icon" aria-hidden="true">
            {ICONS[notice.tone]}
          </div>
          <div>
            <h2 className="d-notice__title">{notice.title}</h2>
            <p className="d-notice__body">{notice.body}</p>
            {notice.fix && (
              <p className="d-notice__fix">
                <strong>How to fix: </strong>
                {notice.fix}
              </p>
            )}
          </div>
          <div className="d-notice__actions">
            {notice.fixInKommo && (
              <a className="d-button d-button--primary" href={`https://${account.host}/settings/widgets/`} target="_blank" rel="noreferrer">
                Open Kommo settings
              </a>
            )}
            <ActionButton notice={notice} account={account} returnTo={returnTo} />
          </div>
        </section>
      ))}
    </div>
  );
}
