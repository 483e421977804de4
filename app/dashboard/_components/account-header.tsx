// The top of every account page: where it is, what it is, its state, and the account's tabs.
import type { AuthorizedAccount } from "@/lib/features/dashboard/access";
import type { Viewer } from "@/lib/features/dashboard/auth/viewer";
import type { Notice } from "@/lib/features/dashboard/diagnosis";
import { formatUtc } from "@/lib/features/dashboard/format";
import { Pill, type Tone } from "./ui";

export type AccountTab = "overview" | "log" | "failures" | "deal";

/** The account's state in one word, from its most serious notice. */
export function accountState(account: Pick<AuthorizedAccount, "status" | "paused">, notices: Notice[]): { tone: Tone; label: string } {
  if (account.status === "disconnected") return { tone: "neutral", label: "Uninstalled" };
  if (notices.some((notice) => notice.tone === "critical")) return { tone: "critical", label: "Needs attention" };
  if (account.paused) return { tone: "info", label: "Paused" };
  if (notices.some((notice) => notice.tone === "warning")) return { tone: "warning", label: "Attention" };
  return { tone: "success", label: "Healthy" };
}

export function AccountHeader({
  viewer,
  account,
  notices,
  active,
  openFailures,
}: {
  viewer: Viewer;
  account: AuthorizedAccount;
  notices: Notice[];
  active: AccountTab;
  openFailures: number;
}) {
  const base = `/dashboard/accounts/${account.id}`;
  const state = accountState(account, notices);
  const tab = (id: AccountTab, href: string, label: string, count?: number) => (
    <a href={href} aria-current={active === id ? "page" : undefined}>
      {label}
      {count ? <span className="d-tabs__count">{count}</span> : null}
    </a>
  );
  return (
    <>
      <div className="d-crumbs">
        {viewer.operator ? <a href="/dashboard">All accounts</a> : "Your Kommo account"} <span aria-hidden="true">/</span> {account.name ?? account.subdomain}
      </div>
      <div className="d-pagehead">
        <div>
          <h1>
            {account.name ?? account.subdomain}
            <Pill tone={state.tone} testId="account-state">
              {state.label}
            </Pill>
          </h1>
          <div className="d-pagehead__meta">
            <a href={`https://${account.host}/`} target="_blank" rel="noreferrer">
              {account.host}
            </a>
            <span>Kommo account {account.kommoAccountId}</span>
            <span>Installed {formatUtc(account.installedAt, { seconds: false })}</span>
          </div>
        </div>
      </div>
      <nav className="d-tabs" aria-label="Account">
        {tab("overview", base, "Overview")}
        {tab("log", `${base}/log`, "Sync log")}
        {tab("failures", `${base}/failures`, "Failures", openFailures)}
      </nav>
    </>
  );
}
