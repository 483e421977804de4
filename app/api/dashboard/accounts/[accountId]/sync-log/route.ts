// GET /api/dashboard/accounts/{id}/sync-log?status=&lead=&from=&to=&cursor=: one page of the
// account's sync log, newest first; `next` is the cursor of the following page (null at the end).
import { accountRoute } from "@/lib/features/dashboard/api-route";
import { parseLogQuery, readLogPage } from "@/lib/features/dashboard/sync-log";
import { jsonError } from "@/lib/platform/http/errors";

export const dynamic = "force-dynamic";

export const GET = accountRoute(async (request, account) => {
  const query = parseLogQuery(Object.fromEntries(new URL(request.url).searchParams));
  if (!query.success) {
    const issue = query.error.issues[0]!;
    return jsonError(400, "invalid_filter", `${issue.path.join(".") || "query"}: ${issue.message}`);
  }
  const page = await readLogPage(account, query.data.filters, query.data.cursor);
  return Response.json({ rows: page.rows, next: page.next }, { headers: { "Cache-Control": "no-store" } });
});
