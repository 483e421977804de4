// Names of an account's Klaviyo lists for the deal-card pane. The pane opens on every deal a
// manager looks at, so the names are read from Klaviyo at most once per account every few minutes,
// and a slow or failing Klaviyo never holds the pane up: it then shows the list ids instead.
import type { Account } from "@/lib/db/client";
import { logger } from "@/lib/platform/log";
import { klaviyoClientFor } from "@/lib/integrations/klaviyo/account-client";

const FRESH_FOR_MS = 5 * 60_000;
/** After a failure, Klaviyo is asked again only after this pause (not on every pane open). */
const RETRY_AFTER_MS = 30_000;
/** How long a pane request waits for Klaviyo before answering with ids only. */
const WAIT_MS = 1_500;

type Entry = {
  /** The encrypted key the names were read with: a new key means other lists. */
  keyEnvelope: string;
  names: Map<string, string> | null;
  expiresAt: number;
  loading: Promise<Map<string, string> | null> | null;
};

const globalCache = globalThis as unknown as { klaviyoListNames?: Map<string, Entry> };
const cache = (globalCache.klaviyoListNames ??= new Map());

function load(account: Pick<Account, "id" | "klaviyoApiKeyEnc">, entry: Entry): Promise<Map<string, string> | null> {
  entry.loading ??= klaviyoClientFor(account)
    .getLists()
    .then(
      (lists) => {
        entry.names = new Map(lists.map((list) => [list.id, list.name ?? list.id]));
        entry.expiresAt = Date.now() + FRESH_FOR_MS;
        return entry.names;
      },
      (error: unknown) => {
        logger().warn({ accountId: account.id, err: error }, "could not read Klaviyo list names for the deal pane");
        entry.expiresAt = Date.now() + RETRY_AFTER_MS;
        return entry.names;
      },
    )
    .finally(() => {
      entry.loading = null;
    });
  return entry.loading;
}

/** List id -> name, or null when Klaviyo is not connected or did not answer in time. */
export async function klaviyoListNames(account: Pick<Account, "id" | "klaviyoApiKeyEnc">): Promise<Map<string, string> | null> {
  if (!account.klaviyoApiKeyEnc) return null;
  let entry = cache.get(account.id);
  if (!entry || entry.keyEnvelope !== account.klaviyoApiKeyEnc) {
    entry = { keyEnvelope: account.klaviyoApiKeyEnc, names: null, expiresAt: 0, loading: null };
    cache.set(account.id, entry);
  }
  if (entry.names && entry.expiresAt > Date.now()) return entry.names;
  if (!entry.names && entry.expiresAt > Date.now()) return null;
  const loading = load(account, entry);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), WAIT_MS)));
  try {
    // The load goes on after a timeout and fills the cache for the next pane.
    return (await Promise.race([loading, timeout])) ?? entry.names;
  } finally {
    clearTimeout(timer);
  }
}

/** For tests: forget every cached name. */
export function clearListNameCache(): void {
  cache.clear();
}
