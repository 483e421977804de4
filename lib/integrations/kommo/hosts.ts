// Which hosts we talk to. The install call names the account host in `referer`, an input anyone can
// forge; since the token exchange sends our client secret to that host, only Kommo account hosts
// (including legacy amoCRM ones) are accepted.
import { getEnv } from "@/lib/platform/env";

const ACCOUNT_HOST = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.(?:kommo\.com|amocrm\.com|amocrm\.ru)$/;
const NOT_ACCOUNTS = new Set(["www", "api", "developers"]);

export type KommoHost = { host: string; subdomain: string };

/** `acme.kommo.com` -> { host, subdomain: "acme" }; null for anything that is not a Kommo account host. */
export function parseKommoHost(referer: string): KommoHost | null {
  const host = referer.trim().toLowerCase();
  const match = ACCOUNT_HOST.exec(host);
  if (!match || NOT_ACCOUNTS.has(match[1]!)) return null;
  return { host, subdomain: match[1]! };
}

/** Where API and token calls for `host` go: the account host, or the test seam when it is set. */
export function kommoBaseUrl(host: string): string {
  return getEnv().KOMMO_API_BASE_URL ?? `https://${host}`;
}
