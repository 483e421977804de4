// 10,000 requests that must all be turned away: random form bodies on a real webhook address, wrong
// hook keys, forged and expired widget tokens, forged revoke signatures and replays of a genuine
// one, install calls naming a Kommo host that is no account, one account's ids used with another's, and attacks on the dashboard's doors (a look-alike of the operator, replayed
// entry tickets, a sign-in answer planted in another browser, forged session cookies), junk codes
// flooding the install door, users whom Kommo restricts to some deals asking for another's deal,
// Kommo ids past what a number carries exactly, and Digital Pipeline hooks with a wrong, missing or
// another account's token, an unknown account or a body that is not a hook. Every one
// must get a 4xx (none accepted, none answered with a server error), and the two accounts they aim
// at must be exactly as they were.
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { widgetHeaders, type HarnessContext, type Tenant } from "../../bench/harness/accounts";
import { widgetToken } from "../helpers/widget-token";
import { mulberry32 } from "../simulators/klaviyo/faults";
import { addKommoUser } from "../simulators/kommo";
import type { FaultEnvironment, Operator } from "./environment";
import { newTenants } from "./scenario";

export const CATEGORY_SIZES = {
  "random form bodies": 1800,
  "wrong hook keys": 1000,
  "forged or expired widget tokens": 1900,
  "forged Digital Pipeline hooks": 500,
  "forged revoke signatures": 1500,
  "non-account referers": 300,
  "cross-account ids": 1000,
  "dashboard forgeries": 500,
  "install door flooding": 600,
  "restricted users": 300,
  "64-bit ids": 600,
} as const;

export type Category = keyof typeof CATEGORY_SIZES;

/**
 * One request; `thenAsk`: a dashboard door's answer is a redirect either way, so what counts is
 * whether it set a session: the probe then asks this URL with whatever session cookie it got, and
 * that answer is the probe's.
 */
type Probe = { category: Category; variant: string; url: string; method: "GET" | "POST" | "PUT"; headers: Record<string, string>; body?: string; thenAsk?: string };

/** What the dashboard attacks start from, obtained once through the app's own doors before any probe is made. */
type DashboardFootholds = {
  /** A session of a user of the other account made to look like the operator (name, e-mail), an admin there. */
  lookAlikeSession: string;
  /** A widget entry link of the victim's admin, already used once by its rightful browser. */
  usedVictimTicket: string;
  /** The same, of the other account's admin. */
  usedOtherTicket: string;
  /** An attacker's own, unused consent answer for the look-alike (code, state, referer), to plant in another browser. */
  plantedAnswer: string;
};

/** Each account's Digital Pipeline token, as its admin's `dpSettings` reads it. */
type DigitalPipelineTokens = { victim: string; other: string };

/** Users of the victim's account whom Kommo lets view only some deals (none of them the target deal). */
type RestrictedUsers = { own: number; none: number; group: number };

export type ProbeTally = { category: Category; sent: number; accepted: number; serverErrors: number; statuses: Record<string, number>; examples: string[] };

/** Seeded, so that every run sends the same mix of inputs. */
const random = mulberry32;

const FORM = "application/x-www-form-urlencoded";
const enc = encodeURIComponent;

class InputFactory {
  private readonly next: () => number;

  constructor(
    private readonly context: HarnessContext,
    private readonly victim: Tenant,
    private readonly other: Tenant,
    private readonly victimLeadId: number,
    private readonly otherLeadId: number,
    private readonly footholds: DashboardFootholds,
    private readonly restricted: RestrictedUsers,
    private readonly dpTokens: DigitalPipelineTokens,
    seed: number,
  ) {
    this.next = random(seed);
  }

  private int(max: number): number {
    return Math.floor(this.next() * max);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  private text(length: number, alphabet = "abcdefghijklmnopqrstuvwxyz0123456789[]_-=&%+.~!*'();:@$,/?#"): string {
    return Array.from({ length }, () => alphabet[this.int(alphabet.length)]).join("");
  }

  private hookKey(tenant: Tenant): string {
    return tenant.hookUrl.slice(tenant.hookUrl.lastIndexOf("/") + 1);
  }

  private hookUrlWithKey(key: string): string {
    return `${this.context.appUrl}/api/kommo/webhooks/${key}`;
  }

  /** A well-formed status delivery of `tenant` for `leadId`, as Kommo sends it. */
  private delivery(accountId: number | string, leadId: number, statusId = 142): string {
    return [
      `${enc("leads[status][0][id]")}=${leadId}`,
      `${enc("leads[status][0][status_id]")}=${statusId}`,
      `${enc("leads[status][0][pipeline_id]")}=${this.victim.pipelineId}`,
      `${enc("leads[status][0][updated_at]")}=${Math.floor(Date.now() / 1000)}`,
      `${enc("account[id]")}=${accountId}`,
      `${enc("account[subdomain]")}=x`,
    ].join("&");
  }

  randomFormBody(): Probe {
    const url = this.victim.hookUrl;
    const variant = this.pick(["noise", "bad lead id", "wrong content type", "too many items", "prototype keys", "bad account id"] as const);
    const probe = (body: string, contentType = FORM): Probe => ({ category: "random form bodies", variant, url, method: "POST", headers: { "Content-Type": contentType }, body });
    switch (variant) {
      case "noise": {
        // Random keys and values; never the account id, so nothing can pass as a delivery.
        const pairs = Array.from({ length: 1 + this.int(30) }, () => `${enc(this.text(1 + this.int(20)))}=${enc(this.text(this.int(40)))}`);
        return probe(pairs.join("&").replaceAll(`${this.victim.kommoAccountId}`, "1"));
      }
      case "bad lead id": {
        // Kommo ids are 64-bit on the wire; past 2^53 - 1 they cannot be carried exactly and are refused.
        const id = this.pick(["", "abc", "-5", "1.5", "1e5", "0x1F", " 12", "9007199254740993", "99999999999999999999", "[]", "null"]);
        return probe(`${enc("leads[status][0][id]")}=${enc(id)}&${enc("account[id]")}=${this.victim.kommoAccountId}`);
      }
      case "wrong content type":
        return probe(this.delivery(this.victim.kommoAccountId, this.victimLeadId), this.pick(["application/json", "text/plain", "multipart/form-data; boundary=x", "application/xml"]));
      case "too many items": {
        const items = Array.from({ length: 501 }, (_, index) => `${enc(`leads[update][${index}][id]`)}=${this.victimLeadId}`);
        return probe(`${items.join("&")}&${enc("account[id]")}=${this.victim.kommoAccountId}`);
      }
      case "prototype keys":
        return probe(
          [`${enc("__proto__[polluted]")}=1`, `${enc("constructor[prototype][polluted]")}=1`, `${enc("leads[status][0][id]")}=x`, `${enc("account[id]")}=${this.victim.kommoAccountId}`].join("&"),
        );
      case "bad account id":
        return probe(`${enc("leads[status][0][id]")}=${this.victimLeadId}&${enc("account[id]")}=${enc(this.pick(["", "abc", "-1", "0x10", "1".repeat(14)]))}`);
    }
  }

  wrongHookKey(): Probe {
    const real = this.hookKey(this.victim);
    const variant = this.pick(["unknown key", "one character changed", "malformed key"] as const);
    let key: string;
    if (variant === "unknown key") key = randomBytes(24).toString("base64url");
    else if (variant === "one character changed") {
      const at = this.int(real.length);
      key = `${real.slice(0, at)}${real[at] === "A" ? "B" : "A"}${real.slice(at + 1)}`;
    } else key = enc(this.pick([this.text(5), this.text(200), `${real}!`, `${real}%00`, "' OR '1'='1", "%E2%98%83".repeat(10)]));
    return {
      category: "wrong hook keys",
      variant,
      url: this.hookUrlWithKey(key),
      method: "POST",
      headers: { "Content-Type": FORM },
      body: this.delivery(this.victim.kommoAccountId, this.victimLeadId),
    };
  }

  async forgedToken(): Promise<Probe> {
    const { identity, appUrl } = this.context;
    const now = Math.floor(Date.now() / 1000);
    const claims = { account_id: this.victim.kommoAccountId, user_id: this.victim.adminUserId, subdomain: this.victim.subdomain, client_uuid: identity.clientId, is_admin: true };
    const secret = new TextEncoder().encode(identity.clientSecret);
    const sign = (payload: Record<string, unknown>, options: { key?: Uint8Array; alg?: string; aud?: string; exp?: number; nbf?: number } = {}) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT" })
        .setIssuer(`https://${this.victim.subdomain}.kommo.com`)
        .setAudience(options.aud ?? new URL(appUrl).origin)
        .setJti(randomBytes(8).toString("hex"))
        .setIssuedAt(now - 60)
        .setNotBefore(options.nbf ?? now - 60)
        .setExpirationTime(options.exp ?? now + 1800)
        .sign(options.key ?? secret);
    const variant = this.pick(["wrong secret", "alg none", "HS512", "expired", "not yet valid", "wrong audience", "other integration", "tampered payload", "no account claim", "garbage", "no token"] as const);
    let token: string | null;
    switch (variant) {
      case "wrong secret":
        token = await sign(claims, { key: randomBytes(32) });
        break;
      case "alg none": {
        const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
        token = `${part({ alg: "none", typ: "JWT" })}.${part({ ...claims, aud: new URL(appUrl).origin, iat: now, exp: now + 1800, jti: "x", iss: "x" })}.`;
        break;
      }
      case "HS512":
        token = await sign(claims, { alg: "HS512" });
        break;
      case "expired":
        token = await sign(claims, { exp: now - 120 - this.int(86_400) });
        break;
      case "not yet valid":
        token = await sign(claims, { nbf: now + 600 + this.int(3600) });
        break;
      case "wrong audience":
        token = await sign(claims, { aud: this.pick(["https://evil.example", "http://127.0.0.1:1", `https://${this.victim.subdomain}.kommo.com`]) });
        break;
      case "other integration":
        token = await sign({ ...claims, client_uuid: "00000000-0000-4000-8000-000000000000" });
        break;
      case "tampered payload": {
        // A genuine token of the other account with the payload swapped for the victim's: the signature no longer fits.
        const genuine = await sign({ ...claims, account_id: this.other.kommoAccountId, subdomain: this.other.subdomain });
        const [header, , signature] = genuine.split(".");
        token = `${header}.${Buffer.from(JSON.stringify({ ...claims, aud: new URL(appUrl).origin, exp: now + 1800, iat: now })).toString("base64url")}.${signature}`;
        break;
      }
      case "no account claim": {
        const { account_id: _omitted, ...rest } = claims;
        token = await sign(rest);
        break;
      }
      case "garbage":
        token = this.pick([this.text(40, "abcdefghijklmnopqrstuvwxyz0123456789-_."), "a.b.c", "", "x".repeat(8000), "Bearer abc"]);
        break;
      case "no token":
        token = null;
        break;
    }
    const target = this.pick(["GET /api/widget/settings", "PUT /api/widget/settings", "GET /api/widget/klaviyo/lists", `POST /api/widget/leads/${this.victimLeadId}/sync`] as const);
    const [method, path] = target.split(" ") as ["GET" | "PUT" | "POST", string];
    const headers: Record<string, string> = { Origin: `https://${this.victim.subdomain}.kommo.com`, "Content-Type": "application/json" };
    if (token !== null) headers["X-Auth-Token"] = token;
    return {
      category: "forged or expired widget tokens",
      variant: `${variant} (${method})`,
      url: `${appUrl}${path}`,
      method,
      headers,
      body: method === "PUT" ? JSON.stringify({ klaviyoApiKey: "pk_attacker_key_0000000000000000" }) : undefined,
    };
  }

  private revokes = 0;

  forgedRevoke(): Probe {
    const { identity, appUrl } = this.context;
    const hmac = (key: string, text: string) => createHmac("sha256", key).update(text).digest("hex");
    const accountId = String(this.victim.kommoAccountId);
    // A genuine hook, signed as Kommo signs it, seen somewhere (a log) and replayed while Kommo still
    // grants the access. Only a few: each makes the app ask Kommo (a refresh and one API call).
    if (this.revokes++ % 150 === 0) {
      const query = { client_uuid: identity.clientId, account_id: accountId, signature: hmac(identity.clientSecret, `${identity.clientId}|${accountId}`) };
      return { category: "forged revoke signatures", variant: "replayed genuine hook", url: `${appUrl}/api/kommo/revoke?${new URLSearchParams(query)}`, method: "GET", headers: {} };
    }
    const variant = this.pick(["random signature", "wrong secret", "another account's signature", "other integration", "malformed", "missing fields"] as const);
    let query: Record<string, string>;
    switch (variant) {
      case "random signature":
        query = { client_uuid: identity.clientId, account_id: accountId, signature: randomBytes(32).toString("hex") };
        break;
      case "wrong secret":
        query = { client_uuid: identity.clientId, account_id: accountId, signature: hmac(randomBytes(16).toString("hex"), `${identity.clientId}|${accountId}`) };
        break;
      case "another account's signature":
        query = { client_uuid: identity.clientId, account_id: accountId, signature: hmac(identity.clientSecret, `${identity.clientId}|${this.other.kommoAccountId}`) };
        break;
      case "other integration": {
        const clientId = "00000000-0000-4000-8000-000000000000";
        query = { client_uuid: clientId, account_id: accountId, signature: hmac(identity.clientSecret, `${clientId}|${accountId}`) };
        break;
      }
      case "malformed":
        query = { client_uuid: identity.clientId, account_id: this.pick([accountId, "abc", "-1", ""]), signature: this.pick(["", "zz".repeat(32), "ab".repeat(31), "ab".repeat(33), this.text(64)]) };
        break;
      case "missing fields":
        query = this.pick<Record<string, string>>([{ account_id: accountId }, { signature: randomBytes(32).toString("hex") }, {}]);
        break;
    }
    return { category: "forged revoke signatures", variant, url: `${appUrl}/api/kommo/revoke?${new URLSearchParams(query)}`, method: "GET", headers: {} };
  }

  /**
   * Kommo's widget-install call with a genuine code of the victim's account but a `referer` naming a
   * host Kommo runs for itself (or no single account label): the token exchange would send our
   * client secret there.
   */
  nonAccountReferer(): Probe {
    const label = this.pick(["www", "api", "api-c", "developers", "es-developers", "support", "help", "status", "blog", "academy", "shop", "id", "auth", "login", "cdn", "mail", "xn--80ak6aa92e", `${this.victim.subdomain}.www`]);
    const domain = this.pick(["kommo.com", "amocrm.com", "amocrm.ru"]);
    const variant = label.includes(".") ? "nested label" : label.startsWith("xn--") ? "punycode label" : "Kommo service host";
    const query = new URLSearchParams({ code: this.context.sims.kommo.issueCode(this.victim.kommoAccountId), referer: `${label}.${domain}`, from_widget: "1" });
    return { category: "non-account referers", variant, url: `${this.context.appUrl}/api/kommo/oauth/callback?${query}`, method: "GET", headers: {} };
  }

  async crossAccount(): Promise<Probe> {
    const { appUrl } = this.context;
    const variant = this.pick(["other account's delivery", "delivery to the other hook", "token with the other account's origin", "token of an account never installed", "non-admin changing settings"] as const);
    const category = "cross-account ids";
    switch (variant) {
      case "other account's delivery":
        return { category, variant, url: this.victim.hookUrl, method: "POST", headers: { "Content-Type": FORM }, body: this.delivery(this.other.kommoAccountId, this.otherLeadId) };
      case "delivery to the other hook":
        return { category, variant, url: this.other.hookUrl, method: "POST", headers: { "Content-Type": FORM }, body: this.delivery(this.victim.kommoAccountId, this.victimLeadId) };
      case "token with the other account's origin": {
        const headers = await widgetHeaders(this.context, this.victim);
        return { category, variant, url: `${appUrl}/api/widget/settings`, method: "GET", headers: { ...headers, Origin: `https://${this.other.subdomain}.kommo.com` } };
      }
      case "token of an account never installed": {
        // Our tenants' Kommo ids are above 100,000,000; these are real-looking ids we never installed.
        const headers = await widgetHeaders(this.context, { kommoAccountId: 10_000 + this.int(90_000), adminUserId: 1, subdomain: "stranger" });
        return { category, variant, url: `${appUrl}/api/widget/settings`, method: "GET", headers: { ...headers, Origin: "https://stranger.kommo.com" } };
      }
      case "non-admin changing settings": {
        const token = await new SignJWT({ account_id: this.victim.kommoAccountId, user_id: this.victim.adminUserId + 1, subdomain: this.victim.subdomain, client_uuid: this.context.identity.clientId, is_admin: false })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setIssuer(`https://${this.victim.subdomain}.kommo.com`)
          .setAudience(new URL(appUrl).origin)
          .setJti(randomBytes(8).toString("hex"))
          .setIssuedAt()
          .setExpirationTime("30m")
          .sign(new TextEncoder().encode(this.context.identity.clientSecret));
        return {
          category,
          variant,
          url: `${appUrl}/api/widget/settings`,
          method: "PUT",
          headers: { "X-Auth-Token": token, Origin: `https://${this.victim.subdomain}.kommo.com`, "Content-Type": "application/json" },
          body: JSON.stringify({ klaviyoApiKey: "pk_attacker_key_0000000000000000" }),
        };
      }
    }
  }

  dashboardForgery(): Probe {
    const { appUrl } = this.context;
    const category = "dashboard forgeries";
    const victimLog = `${appUrl}/api/dashboard/accounts/${this.victim.accountId}/sync-log`;
    const anySession = `${appUrl}/api/dashboard/accounts`;
    const variant = this.pick(["operator look-alike", "replayed entry ticket", "replayed ticket of the other account", "tampered entry ticket", "planted sign-in answer", "forged session cookie"] as const);
    switch (variant) {
      case "operator look-alike": {
        const target = this.pick([victimLog, `${victimLog}?status=failed`, `${appUrl}/dashboard/accounts/${this.victim.accountId}`, `${appUrl}/dashboard/accounts/${this.victim.accountId}/failures`]);
        return { category, variant, url: target, method: "GET", headers: { cookie: this.footholds.lookAlikeSession } };
      }
      case "replayed entry ticket":
        return { category, variant, url: this.footholds.usedVictimTicket, method: "GET", headers: {}, thenAsk: victimLog };
      case "replayed ticket of the other account":
        return { category, variant, url: this.footholds.usedOtherTicket, method: "GET", headers: {}, thenAsk: anySession };
      case "tampered entry ticket": {
        // The other account's genuine (used) ticket with the victim's account id written into it.
        const ticket = new URL(this.footholds.usedOtherTicket).searchParams.get("ticket")!;
        const [header, payload, signature] = ticket.split(".");
        const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
        const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, account_id: this.victim.kommoAccountId, jti: randomUUID() })).toString("base64url")}.${signature}`;
        return { category, variant, url: `${appUrl}/dashboard/enter?ticket=${forged}`, method: "GET", headers: {}, thenAsk: anySession };
      }
      case "planted sign-in answer":
        // A victim's browser led to the attacker's own consent answer: it has no sign-in of its own going.
        return { category, variant, url: `${appUrl}/api/kommo/oauth/callback?${this.footholds.plantedAnswer}`, method: "GET", headers: {}, thenAsk: anySession };
      case "forged session cookie": {
        const real = this.footholds.lookAlikeSession.slice(this.footholds.lookAlikeSession.indexOf("=") + 1);
        const at = this.int(real.length);
        const value = this.pick([
          randomBytes(32).toString("base64url"),
          `${real.slice(0, at)}${real[at] === "A" ? "B" : "A"}${real.slice(at + 1)}`,
          new URL(this.footholds.usedVictimTicket).searchParams.get("ticket")!,
          this.text(40),
          "x".repeat(4000),
        ]);
        return { category, variant, url: victimLog, method: "GET", headers: { cookie: `kss-session=${enc(value)}` } };
      }
    }
  }

  /**
   * Digital Pipeline hooks Kommo never sent: the hook is unsigned, so the account's token in the
   * action's settings is all that stands between a stranger and the account's Klaviyo events.
   */
  forgedDigitalPipelineHook(): Probe {
    const url = `${this.context.appUrl}/api/kommo/dp`;
    const variant = this.pick([
      "random token",
      "another account's token",
      "token of a lookalike length",
      "no token",
      "unknown account",
      "id past 2^53 - 1",
      "not a hook",
      "wrong content type",
    ] as const);
    const hook = (settings: Record<string, string>, overrides: { accountId?: number | string; leadId?: number | string } = {}) => ({
      event: {
        type: this.pick([1, 14, 15]),
        type_code: "lead_status_changed",
        data: { id: overrides.leadId ?? this.victimLeadId, element_type: 2, status_id: this.victim.stages[0]!.id, pipeline_id: this.victim.pipelineId },
        time: Math.floor(Date.now() / 1000) - this.int(1000),
      },
      action: { settings: { widget: { settings: { event_name: "Forged Event", ...settings } } } },
      subdomain: this.victim.subdomain,
      account_id: overrides.accountId ?? this.victim.kommoAccountId,
    });
    const json = (body: unknown, contentType = "application/json"): Probe => ({
      category: "forged Digital Pipeline hooks",
      variant,
      url,
      method: "POST",
      headers: { "Content-Type": contentType, "User-Agent": "amoCRM-Webhooks/3.0" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const token = this.dpTokens.victim;
    switch (variant) {
      case "random token":
        return json(hook({ kss_token: randomBytes(24).toString("base64url") }));
      case "another account's token":
        return json(hook({ kss_token: this.dpTokens.other }));
      case "token of a lookalike length":
        return json(hook({ kss_token: this.pick([token.slice(0, -1), `${token}x`, token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase(), ` ${token}x`]) }));
      case "no token":
        return json(hook({}));
      case "unknown account":
        return json(hook({ kss_token: token }, { accountId: 1 + this.int(90_000) }));
      case "id past 2^53 - 1":
        return json(hook({ kss_token: token }, this.pick([{ leadId: "9007199254740993" }, { accountId: "99999999999999999999" }, { leadId: -5 }, { leadId: 1.5 }])));
      case "not a hook":
        return json(this.pick(["{", "[]", "null", JSON.stringify({ kss_token: token, account_id: this.victim.kommoAccountId }), this.text(200)]));
      case "wrong content type":
        return json(hook({ kss_token: token }), this.pick(["text/plain", "application/xml", "multipart/form-data; boundary=x"]));
    }
  }

  private readonly junkCodes: string[] = [];

  /**
   * Junk sent to the install door in a stream, as from one address: codes Kommo never issued with the
   * victim's host as referer (each would cost a token exchange), the same junk code again, and junk
   * consent answers. Turned away at the door (429) or refused (400, 409); never an exchange per call.
   */
  doorFlood(): Probe {
    const { appUrl, identity } = this.context;
    const category = "install door flooding";
    const referer = `${this.victim.subdomain}.kommo.com`;
    const variant = this.junkCodes.length > 0 && this.int(4) === 0 ? "same junk code again" : this.pick(["junk code", "junk consent answer"] as const);
    let query: Record<string, string>;
    if (variant === "same junk code again") query = { code: this.pick(this.junkCodes), referer, from_widget: "1" };
    else {
      const code = `def50200${randomBytes(this.int(2) === 0 ? 24 : 180).toString("hex")}`;
      this.junkCodes.push(code);
      query =
        variant === "junk code"
          ? { code, referer, from_widget: "1" }
          : { code, referer, state: randomBytes(16).toString("base64url"), client_id: identity.clientId };
    }
    return { category, variant, url: `${appUrl}/api/kommo/oauth/callback?${new URLSearchParams(query)}`, method: "GET", headers: {} };
  }

  /** A user Kommo limits to their own deals, their group's, or none, asking for the admin's deal. */
  async restrictedUser(): Promise<Probe> {
    const { appUrl } = this.context;
    const who = this.pick(["own deals only", "no deals", "another group's deals"] as const);
    const userId = who === "own deals only" ? this.restricted.own : who === "no deals" ? this.restricted.none : this.restricted.group;
    const token = await widgetToken({
      accountId: this.victim.kommoAccountId,
      userId,
      subdomain: this.victim.subdomain,
      isAdmin: false,
      clientId: this.context.identity.clientId,
      secret: this.context.identity.clientSecret,
      audience: new URL(appUrl).origin,
    });
    const press = this.int(3) === 0;
    return {
      category: "restricted users",
      variant: `${who} (${press ? "Sync now" : "deal pane"})`,
      url: `${appUrl}/api/widget/leads/${this.victimLeadId}/${press ? "sync" : "activity"}`,
      method: press ? "POST" : "GET",
      headers: { "X-Auth-Token": token, Origin: `https://${this.victim.subdomain}.kommo.com`, "Content-Type": "application/json" },
      body: press ? "{}" : undefined,
    };
  }

  /** Kommo ids are 64-bit; past 2^53 - 1 a number no longer carries them exactly, and they are refused. */
  async wideIds(): Promise<Probe> {
    const { appUrl, identity } = this.context;
    const category = "64-bit ids";
    const id = this.pick(["9007199254740992", "9007199254740993", "18446744073709551615", "18446744073709551616", "99999999999999999999", "1e16", "-9007199254740993"]);
    const variant = this.pick(["deal pane", "Sync now", "delivery's account id", "delivery's lead id", "revoke hook account id"] as const);
    switch (variant) {
      case "deal pane":
      case "Sync now": {
        const headers = await widgetHeaders(this.context, this.victim);
        const press = variant === "Sync now";
        return { category, variant, url: `${appUrl}/api/widget/leads/${enc(id)}/${press ? "sync" : "activity"}`, method: press ? "POST" : "GET", headers, body: press ? "{}" : undefined };
      }
      case "delivery's account id":
        return { category, variant, url: this.victim.hookUrl, method: "POST", headers: { "Content-Type": FORM }, body: this.delivery(id, this.victimLeadId) };
      case "delivery's lead id":
        return { category, variant, url: this.victim.hookUrl, method: "POST", headers: { "Content-Type": FORM }, body: `${enc("leads[status][0][id]")}=${id}&${enc("leads[status][0][status_id]")}=142&${enc("account[id]")}=${this.victim.kommoAccountId}` };
      case "revoke hook account id": {
        // Signed as Kommo would sign that id: only the id itself is wrong.
        const signature = createHmac("sha256", identity.clientSecret).update(`${identity.clientId}|${id}`).digest("hex");
        return { category, variant, url: `${appUrl}/api/kommo/revoke?${new URLSearchParams({ client_uuid: identity.clientId, account_id: id, signature })}`, method: "GET", headers: {} };
      }
    }
  }

  async make(category: Category): Promise<Probe> {
    switch (category) {
      case "random form bodies":
        return this.randomFormBody();
      case "wrong hook keys":
        return this.wrongHookKey();
      case "forged or expired widget tokens":
        return this.forgedToken();
      case "forged revoke signatures":
        return this.forgedRevoke();
      case "non-account referers":
        return this.nonAccountReferer();
      case "cross-account ids":
        return this.crossAccount();
      case "dashboard forgeries":
        return this.dashboardForgery();
      case "forged Digital Pipeline hooks":
        return this.forgedDigitalPipelineHook();
      case "install door flooding":
        return this.doorFlood();
      case "restricted users":
        return this.restrictedUser();
      case "64-bit ids":
        return this.wideIds();
    }
  }
}

async function send(probe: Probe): Promise<number> {
  try {
    const response = await fetch(probe.url, { method: probe.method, headers: probe.headers, body: probe.body, redirect: "manual", signal: AbortSignal.timeout(30_000) });
    await response.arrayBuffer();
    if (!probe.thenAsk || response.status >= 500) return response.status;
    const session = sessionCookieOf(response);
    const next = await fetch(probe.thenAsk, { headers: session ? { cookie: session } : {}, redirect: "manual", signal: AbortSignal.timeout(30_000) });
    await next.arrayBuffer();
    return next.status;
  } catch {
    return 0;
  }
}

const sessionCookieOf = (response: Response) =>
  response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0]!)
    .find((pair) => /^(__Host-)?kss-session=./.test(pair));

/**
 * The footholds of the dashboard attacks, through the app's real doors: "Sign in with Kommo" by a
 * user of the other account whom its admin named and addressed like the operator; an entry link
 * of each account's admin, used once; and an unused consent answer of that look-alike.
 */
async function dashboardFootholds(env: FaultEnvironment, victim: Tenant, other: Tenant, operator: Operator): Promise<DashboardFootholds> {
  const { appUrl } = env.context;
  const kommo = env.sims.kommo;
  const lookAlike = addKommoUser(kommo.store, other.kommoAccountId, { name: operator.name, email: operator.email, isAdmin: true });
  const startSignIn = async () => {
    const started = await fetch(`${appUrl}/api/auth/sign-in`, { method: "POST", headers: { Origin: appUrl, "Content-Type": FORM }, body: "callbackUrl=%2Fdashboard", redirect: "manual" });
    const state = new URL(started.headers.get("location")!).searchParams.get("state")!;
    const stateCookie = started.headers.getSetCookie().map((line) => line.split(";")[0]!).join("; ");
    const answer = new URLSearchParams({ code: kommo.issueCode(other.kommoAccountId, lookAlike.id), referer: `${other.subdomain}.kommo.com`, state, client_id: env.context.identity.clientId });
    return { answer, stateCookie };
  };
  const signIn = await startSignIn();
  const returned = await fetch(`${appUrl}/api/kommo/oauth/callback?${signIn.answer}`, { headers: { cookie: signIn.stateCookie }, redirect: "manual" });
  const lookAlikeSession = sessionCookieOf(returned);
  if (!lookAlikeSession) throw new Error(`the look-alike's own sign-in failed: ${returned.status} ${returned.headers.get("location")}`);

  const usedTicket = async (tenant: Tenant) => {
    const link = await fetch(`${appUrl}/api/widget/dashboard-link`, { method: "POST", headers: await widgetHeaders(env.context, tenant) });
    const { url } = (await link.json()) as { url: string };
    const entered = await fetch(url, { redirect: "manual" });
    if (!sessionCookieOf(entered)) throw new Error(`the admin's own entry link failed: ${entered.status} ${entered.headers.get("location")}`);
    return url;
  };
  return { lookAlikeSession, usedVictimTicket: await usedTicket(victim), usedOtherTicket: await usedTicket(other), plantedAnswer: (await startSignIn()).answer.toString() };
}

async function digitalPipelineTokens(env: FaultEnvironment, victim: Tenant, other: Tenant): Promise<DigitalPipelineTokens> {
  const tokenOf = async (tenant: Tenant) => {
    const answer = await fetch(`${env.context.appUrl}/api/widget/digital-pipeline`, { headers: await widgetHeaders(env.context, tenant) });
    if (answer.status !== 200) throw new Error(`the admin's own Digital Pipeline settings failed: ${answer.status}`);
    return ((await answer.json()) as { token: string }).token;
  };
  return { victim: await tokenOf(victim), other: await tokenOf(other) };
}

/** Sales users of the victim's account with the lead view rights Kommo lets an admin give: own deals (M), none (D), their group's (G, another group than the deal's). */
function restrictedUsers(env: FaultEnvironment, victim: Tenant): RestrictedUsers {
  const rights = (view: "G" | "M" | "D") => ({ view, edit: view, add: "A" as const, delete: view, export: view });
  const add = (name: string, view: "G" | "M" | "D", groupId: number | null = null) =>
    addKommoUser(env.sims.kommo.store, victim.kommoAccountId, { name, email: `${name.toLowerCase()}@example.com`, isAdmin: false, groupId, leads: rights(view) }).id;
  return { own: add("Sam", "M"), none: add("Dina", "D"), group: add("Gus", "G", 7001) };
}

export type ForgedInputsResult = { tallies: ProbeTally[]; victims: Tenant[]; seconds: number };

/** Send every input (a few dozen at a time) and tally the answers per category. */
export async function sendForgedInputs(env: FaultEnvironment, seed = 20_260_715): Promise<ForgedInputsResult> {
  const [victim, other] = await newTenants(env, 2);
  const victimLead = env.sims.kommo.seedLead(victim!.kommoAccountId, { name: "Target", pipelineId: victim!.pipelineId, statusId: victim!.incoming.id });
  const otherLead = env.sims.kommo.seedLead(other!.kommoAccountId, { name: "Other", pipelineId: other!.pipelineId, statusId: other!.incoming.id });
  const footholds = await dashboardFootholds(env, victim!, other!, env.operator);
  const dpTokens = await digitalPipelineTokens(env, victim!, other!);
  const factory = new InputFactory(env.context, victim!, other!, victimLead.id, otherLead.id, footholds, restrictedUsers(env, victim!), dpTokens, seed);
  // Made one after another before any is sent, so that the seed alone decides the mix of inputs.
  const probes: Probe[] = [];
  for (const [category, count] of Object.entries(CATEGORY_SIZES) as [Category, number][]) {
    for (let index = 0; index < count; index++) probes.push(await factory.make(category));
  }
  const tallies = new Map<Category, ProbeTally>(
    Object.keys(CATEGORY_SIZES).map((category) => [category as Category, { category: category as Category, sent: 0, accepted: 0, serverErrors: 0, statuses: {}, examples: [] }]),
  );
  const started = Date.now();
  let next = 0;
  const lane = async () => {
    while (next < probes.length) {
      const probe = probes[next++]!;
      const status = await send(probe);
      const tally = tallies.get(probe.category)!;
      tally.sent++;
      tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 400) tally.accepted++;
      if (status >= 500 || status === 0) tally.serverErrors++;
      if ((status < 400 || status >= 500) && tally.examples.length < 5) tally.examples.push(`${probe.variant}: ${probe.method} ${probe.url.slice(0, 160)} -> ${status}`);
    }
  };
  await Promise.all(Array.from({ length: 24 }, lane));
  return { tallies: [...tallies.values()], victims: [victim!, other!], seconds: (Date.now() - started) / 1000 };
}
