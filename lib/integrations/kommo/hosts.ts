// Which hosts we talk to. The install call names the account host in `referer`, an input anyone can
// forge; since the token exchange sends our client secret to that host, only Kommo account hosts
// (including legacy amoCRM ones, which the widget's CORS also admits) are accepted.
import { getEnv } from "@/lib/platform/env";

/** One DNS label under one of Kommo's account domains. Nothing deeper, no port, no path, no scheme. */
const ACCOUNT_HOST = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.(?:kommo\.com|amocrm\.com|amocrm\.ru)$/;

/**
 * Subdomains Kommo and amoCRM run for themselves (sites, docs, API gateways, login, mail, assets),
 * plus the names a provider typically keeps for such services. None is an account; any of them
 * receiving our client secret would hand it to a server that is not the account's. Kommo never
 * lets an account take one of these names, so refusing them costs no customer.
 */
const NOT_ACCOUNTS: ReadonlySet<string> = new Set([
  // sites and content
  "www", "web", "site", "blog", "news", "academy", "learn", "school", "education", "events", "webinar",
  "shop", "store", "marketplace", "market", "partners", "partner", "affiliates", "community", "forum",
  "careers", "jobs", "press", "media", "promo", "landing",
  // documentation and support
  "developers", "developer", "dev", "es-developers", "pt-developers", "br-developers", "ru-developers",
  "docs", "doc", "wiki", "support", "help", "helpdesk", "faq", "kb", "status", "feedback",
  // API, login and platform services
  "api", "api-a", "api-b", "api-c", "api-d", "api-e", "api-f", "api-g", "gw", "gateway", "auth", "oauth",
  "oauth2", "id", "sso", "login", "signin", "signup", "register", "account", "accounts", "my",
  "billing", "pay", "payments", "app", "apps", "admin", "widgets", "chat", "chats", "amojo", "bot", "bots",
  // infrastructure
  "cdn", "static", "assets", "img", "images", "files", "upload", "uploads", "storage", "download",
  "mail", "email", "smtp", "imap", "pop", "mx", "ns1", "ns2", "vpn",
]);

export type KommoHost = { host: string; subdomain: string };

/** `acme.kommo.com` -> { host, subdomain: "acme" }; null for anything that is not a Kommo account host. */
export function parseKommoHost(referer: string): KommoHost | null {
  const host = referer.trim().toLowerCase();
  const match = ACCOUNT_HOST.exec(host);
  if (!match) return null;
  const subdomain = match[1]!;
  // Punycode labels: Kommo account names are plain ASCII, so an IDN label is never an account.
  if (NOT_ACCOUNTS.has(subdomain) || subdomain.startsWith("xn--")) return null;
  return { host, subdomain };
}

/** Where API and token calls for `host` go: the account host, or the test seam when it is set. */
export function kommoBaseUrl(host: string): string {
  return getEnv().KOMMO_API_BASE_URL ?? `https://${host}`;
}
