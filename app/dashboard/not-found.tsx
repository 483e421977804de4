// 404 inside the dashboard: also what a viewer sees for an account that is not theirs.
export default function DashboardNotFound() {
  return (
    <main className="d-main">
      <section className="d-card d-empty" style={{ padding: "56px 24px" }} data-testid="not-found">
        <strong>This page does not exist, or it is not yours to see</strong>
        <p>
          Each Kommo administrator sees the account they administer. <a href="/dashboard">Back to the dashboard</a>
        </p>
      </section>
    </main>
  );
}
