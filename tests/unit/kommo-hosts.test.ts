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
});
