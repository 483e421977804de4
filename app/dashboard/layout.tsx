// The dashboard's frame: the top bar (product, navigation, who is signed in) around every page.
import type { ReactNode } from "react";
import { currentViewer } from "@/lib/features/dashboard/auth/sessions";
import { SignOutButton } from "./_components/auth-buttons";
import "./dashboard.css";

export const metadata = { title: "Dashboard · Klaviyo Sync for Kommo" };

export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const viewer = await currentViewer();
  return (
    <div className="d-app">
      <header className="d-topbar">
        <div className="d-topbar__inner">
          <a className="d-brand" href="/dashboard">
            <span className="d-brand__mark" aria-hidden="true" />
            Klaviyo Sync <span className="d-brand__sub">for Kommo</span>
          </a>
          <nav className="d-topnav" aria-label="Dashboard">
            {viewer && <a href="/dashboard">{viewer.operator ? "All accounts" : "My account"}</a>}
          </nav>
          {viewer && (
            <div className="d-user" data-testid="viewer">
              {/* The ids, as OPERATOR_KOMMO_USERS names operators ("accountId:userId"). */}
              <span title={`Kommo account ${viewer.kommoAccountId}, user ${viewer.kommoUserId} (${viewer.kommoAccountId}:${viewer.kommoUserId})`}>
                {viewer.name ?? viewer.email ?? `Kommo user ${viewer.kommoUserId}`}
              </span>
              <span className="d-user__role">{viewer.operator ? "Operator" : "Account admin"}</span>
              <SignOutButton />
            </div>
          )}
        </div>
      </header>
      {children}
    </div>
  );
}
