// Only Kommo account hosts may receive our client secret in a token exchange.
import { describe, expect, it } from "vitest";
import { parseKommoHost } from "@/lib/integrations/kommo/hosts";

describe("Kommo account host", () => {
  it("accepts Kommo and legacy amoCRM account hosts", () => {
    expect(parseKommoHost("acme.kommo.com")).toEqual({ host: "acme.kommo.com", subdomain: "acme" });
    expect(parseKommoHost("Old-Shop.amocrm.com")).toEqual({ host: "old-shop.amocrm.com", subdomain: "old-shop" });
    expect(parseKommoHost("magazin.amocrm.ru")).toEqual({ host: "magazin.amocrm.ru", subdomain: "magazin" });
  });

  it("refuses anything else", () => {
    for (const referer of [
      "evil.com",
      "acme.kommo.com.evil.com",
      "evil.com/acme.kommo.com",
      "a.b.kommo.com",
      "www.kommo.com",
      "kommo.com",
      "https://acme.kommo.com",
      "acme.kommo.com:8443",
      "acme.kommo.com/",
      "-acme.kommo.com",
      "",
    ]) {
      expect(parseKommoHost(referer), referer).toBeNull();
    }
  });

  it("refuses the subdomains Kommo runs for itself, under every account domain", () => {
    const services = ["www", "api", "api-c", "developers", "es-developers", "support", "help", "status", "blog", "academy", "shop", "id", "auth", "oauth", "login", "cdn", "static", "mail", "marketplace", "partners", "docs"];
    for (const domain of ["kommo.com", "amocrm.com", "amocrm.ru"]) {
      for (const label of services) {
        expect(parseKommoHost(`${label}.${domain}`), `${label}.${domain}`).toBeNull();
        expect(parseKommoHost(` ${label.toUpperCase()}.${domain.toUpperCase()} `), `upper-case ${label}.${domain}`).toBeNull();
      }
    }
  });

  it("refuses punycode labels, which no Kommo account name is", () => {
    expect(parseKommoHost("xn--80ak6aa92e.kommo.com")).toBeNull();
  });

  it("still accepts account names that merely contain a service word", () => {
    for (const subdomain of ["supportdesk", "my-shop", "helpful", "api2go", "wwwacme"]) {
      expect(parseKommoHost(`${subdomain}.kommo.com`)).toEqual({ host: `${subdomain}.kommo.com`, subdomain });
    }
  });
});
