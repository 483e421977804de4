// POST /api/widget/dashboard-link: the widget's advanced settings page asks for a one-minute link
// that opens the dashboard of its account, signed in as the current Kommo admin (see
// lib/features/dashboard/auth/entry.ts). Admins only; the token, origin and account checks are widgetRoute's.
import { entryLink, ENTRY_TICKET_TTL_SECONDS } from "@/lib/features/dashboard/auth/entry";
import { widgetPreflight, widgetRoute } from "@/lib/features/widget-api/route";

export const dynamic = "force-dynamic";

export const POST = widgetRoute(
  async (_request, { claims }) => {
    // The admin right was vouched for when Kommo issued the widget token.
    const link = await entryLink({ kommoAccountId: claims.account_id, kommoUserId: claims.user_id, rightsCheckedAt: new Date(claims.iat * 1000) });
    return Response.json(
      { url: link.url, expiresAt: link.expiresAt.toISOString(), expiresInSeconds: ENTRY_TICKET_TTL_SECONDS },
      { headers: { "Cache-Control": "no-store" } },
    );
  },
  { adminOnly: true },
);

export const OPTIONS = widgetPreflight;
