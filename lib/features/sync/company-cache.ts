// The deal's company name, from our cache when it is fresh, else from Kommo (then cached). Most
// syncs are stage changes of deals whose company did not change; an update_company webhook removes
// the company's entry (webhook intake), and an entry is trusted for an hour at most, as contacts are.
import { cacheCompanyName, cachedCompanyName, pruneCompanyCache } from "@/lib/db/company-cache";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import { CONTACT_CACHE_TTL_MS } from "./contact-cache";

export const COMPANY_CACHE_TTL_MS = CONTACT_CACHE_TTL_MS;

/** The company's name; null when it has none or no longer exists. `fresh`: ask Kommo whatever the cache holds. */
export async function readCompanyName(accountId: string, kommo: KommoClient, companyId: number, fresh: boolean): Promise<string | null> {
  if (!fresh) {
    const cached = await cachedCompanyName(accountId, companyId, COMPANY_CACHE_TTL_MS);
    if (cached) return cached.name;
  }
  const company = await kommo.getCompany(companyId);
  const name = company?.name ?? null;
  await cacheCompanyName(accountId, companyId, name);
  return name;
}

export function pruneCompanyNames(now = new Date()): Promise<{ count: number }> {
  return pruneCompanyCache(COMPANY_CACHE_TTL_MS, now);
}
