// The backend's front door: what the product does (the flow as a picture), the dashboard's sign-in,
// the sandbox while `npm run demo` runs, the guides, and the install steps for the operator.
import type { CSSProperties } from "react";
import { getEnv } from "@/lib/platform/env";

// The sandbox link depends on the running process's configuration, not on the build's.
export const dynamic = "force-dynamic";

const box: CSSProperties = { background: "#fff", border: "1px solid #dde3ea", borderRadius: 8, padding: "16px 20px", margin: "16px 0" };
const button: CSSProperties = { display: "inline-block", background: "#1f6fd1", color: "#fff", padding: "8px 16px", borderRadius: 6, textDecoration: "none", fontWeight: 600 };

function FlowPicture() {
  const node = (x: number, title: string, lines: string[]) => (
    <g transform={`translate(${x} 20)`}>
      <rect width="190" height="120" rx="10" fill="#fff" stroke="#9fb3c8" />
      <text x="95" y="28" textAnchor="middle" fontWeight="700" fontSize="15">
        {title}
      </text>
      {lines.map((line, index) => (
        <text key={line} x="95" y={54 + index * 20} textAnchor="middle" fontSize="12" fill="#4d5d70">
          {line}
        </text>
      ))}
    </g>
  );
  return (
    <svg viewBox="0 0 680 190" role="img" aria-labelledby="flow-title" style={{ width: "100%", height: "auto" }}>
      <title id="flow-title">A deal change in Kommo becomes a Klaviyo profile update, list membership and event; email activity comes back as notes</title>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#1f6fd1" />
        </marker>
      </defs>
      {node(0, "Kommo", ["deal created, moved,", "won or lost", "notes on the deal"])}
      {node(245, "Klaviyo Sync", ["records each change,", "syncs it in order,", "retries, logs outcomes"])}
      {node(490, "Klaviyo", ["profile: crm_stage, …", "lists per stage", "Deal Won, … events"])}
      <path d="M190 60 H243" stroke="#1f6fd1" strokeWidth="2" markerEnd="url(#arrow)" />
      <path d="M435 60 H488" stroke="#1f6fd1" strokeWidth="2" markerEnd="url(#arrow)" />
      <path d="M488 110 H437" stroke="#3cb878" strokeWidth="2" markerEnd="url(#arrow)" />
      <path d="M243 110 H192" stroke="#3cb878" strokeWidth="2" markerEnd="url(#arrow)" />
      <text x="340" y="172" textAnchor="middle" fontSize="12" fill="#1c7c4d">
        opened, clicked, bounced, unsubscribed: back as notes and in the deal card
      </text>
    </svg>
  );
}

export default function HomePage() {
  const env = getEnv();
  const sandboxUrl = !env.production ? env.SANDBOX_URL : undefined;
  return (
    <main style={{ maxWidth: 760, margin: "40px auto", padding: "0 24px", lineHeight: 1.55 }}>
      <h1 style={{ fontSize: 28, marginBottom: 4 }}>Klaviyo Sync for Kommo</h1>
      <p style={{ marginTop: 0, fontSize: 17 }}>
        Every deal change in Kommo updates the contact&apos;s Klaviyo profile, its lists, and sends an event that starts the
        marketer&apos;s flows. Klaviyo email activity comes back into the deal card.
      </p>
      <FlowPicture />
      <p>
        <a href="/dashboard/sign-in" style={button} data-testid="home-sign-in">
          Sign in to the dashboard
        </a>
      </p>

      {sandboxUrl && (
        <section style={{ ...box, borderColor: "#1f6fd1" }} data-testid="home-sandbox">
          <h2 style={{ fontSize: 18, marginTop: 0 }}>The sandbox is running</h2>
          <p>
            A simulated Kommo account and Klaviyo account on this computer: move a deal to Won and watch it reach Klaviyo.{" "}
            <a href={sandboxUrl}>Open the sandbox</a>.
          </p>
        </section>
      )}

      <section style={box}>
        <h2 style={{ fontSize: 18, marginTop: 0 }}>Guides</h2>
        <ul>
          <li>
            For the email marketer: <code>docs/marketers.md</code>: what arrives in Klaviyo, segments on <code>crm_stage</code>, Deal
            Won and Deal Lost flows.
          </li>
          <li>
            For the Kommo admin: <code>docs/admins.md</code>: install, settings, the import of existing deals, every sync problem and
            its fix.
          </li>
          <li>
            For the operator: <code>README.md</code>, <code>docs/operations.md</code> and <code>docs/dashboard.md</code>.
          </li>
        </ul>
        <p style={{ marginBottom: 0 }}>
          Try it first: <code>npm ci &amp;&amp; npm run demo</code> prints the sandbox&apos;s address.
        </p>
      </section>

      <section style={box}>
        <h2 style={{ fontSize: 18, marginTop: 0 }}>Install (operator)</h2>
        <ol>
          <li>
            In Kommo, <em>Settings → Integrations → Create integration</em>, Redirect URI <code>{env.KOMMO_REDIRECT_URI}</code>.
          </li>
          <li>
            Set <code>KOMMO_CLIENT_ID</code> and <code>KOMMO_CLIENT_SECRET</code> and restart.
          </li>
          <li>
            Build <code>widget.zip</code> with <code>APP_URL={env.APP_URL} npm run widget:build</code> and upload it on the
            integration&apos;s page.
          </li>
          <li>Install it in a Kommo account; its admin pastes a Klaviyo private key in the widget settings.</li>
        </ol>
        <p style={{ marginBottom: 0 }}>
          Health: <a href="/api/health">/api/health</a>.
        </p>
      </section>
    </main>
  );
}
