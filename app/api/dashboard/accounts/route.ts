// GET /api/dashboard/accounts: the accounts the signed-in user may see, with their health (the
// overview page as JSON, e.g. for scripts). Operators get every account, an admin their own.
import { listVisibleAccounts } from "@/lib/features/dashboard/access";
import { dashboardRoute } from "@/lib/features/dashboard/api-route";
import { accountsHealth } from "@/lib/features/dashboard/health";
import { accountJson } from "@/lib/features/dashboard/json";

export const dynamic = "force-dynamic";

export const GET = dashboardRoute(async (_request, viewer) => {
  const accounts = await listVisibleAccounts(viewer);
  const health = await accountsHealth(accounts);
  return Response.json(
    { viewer: { operator: viewer.operator, kommoAccountId: viewer.kommoAccountId }, accounts: accounts.map((account) => accountJson(account, health.get(account.id)!)) },
    { headers: { "Cache-Control": "no-store" } },
  );
});
