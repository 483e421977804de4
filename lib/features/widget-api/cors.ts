// CORS for the widget API. The widget runs on the account's own Kommo page, so only that origin may
// read our answers: https://{subdomain}.kommo.com, or a legacy amoCRM host of the same account.
const KOMMO_ORIGIN = /^https:\/\/([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.(kommo\.com|amocrm\.com|amocrm\.ru)$/;

/** Is `origin` a Kommo account page at all (used for preflights, which carry no token)? */
export function isKommoOrigin(origin: string | null): origin is string {
  return origin !== null && KOMMO_ORIGIN.test(origin);
}

/** Is `origin` a page of this account (its subdomain on any Kommo host, or the host it installed from)? */
export function isAccountOrigin(origin: string | null, account: { subdomain: string; host: string }): origin is string {
  if (!isKommoOrigin(origin)) return false;
  const host = new URL(origin).hostname;
  return host === account.host || KOMMO_ORIGIN.exec(origin)?.[1] === account.subdomain;
}

export function corsHeaders(origin: string): Record<string, string> {
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Methods": "GET, PUT, POST, OPTIONS",
    "Access-Control-Allow-Headers": "X-Auth-Token, Content-Type",
    "Access-Control-Expose-Headers": "Retry-After",
    "Access-Control-Max-Age": "600",
    Vary: "Origin",
  };
}
