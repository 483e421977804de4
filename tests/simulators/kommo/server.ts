// A Kommo account server for tests: a real HTTP server on 127.0.0.1 (port 0) with Kommo's token
// endpoint and REST v4 endpoints. Every API call needs a valid Bearer token (401 otherwise), is
// limited to 7 per second per account (429 problem+json with retry_after), and is counted per
// endpoint for assertions. Time for codes and tokens can be moved forward; faults (5xx, the 403
// block page) can be injected.
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import qs from "qs";
import { API_ROUTES } from "./api";
import { contactFields, setContactField, type SimFieldDefinition } from "./custom-fields";
import { CODE_LIFETIME_SECONDS, ACCESS_TOKEN_LIFETIME_SECONDS, issueTokenPair, tokenEndpoint, type OAuthConfig } from "./oauth";
import { consentRoute, type KommoLogin } from "./consent";
import { blockPage, problem, write, type SimResponse } from "./respond";
import { secretToken, SimStore, type SimAccount } from "./store";
import {
  companyUpdateDelivery,
  contactUpdateDelivery,
  digitalPipelineHook,
  encodeDigitalPipelineHook,
  encodeKommoForm,
  leadDelivery,
  type DigitalPipelineHookOptions,
  type LeadAction,
} from "./webhooks";

export type KommoSimulatorOptions = OAuthConfig & {
  /** Kommo's documented limit. */
  requestsPerSecond?: number;
  /** Kommo's documented example is 300 s; tests use a short pause. */
  retryAfterSeconds?: number;
  accessTokenLifetimeSeconds?: number;
  /** Added to every token-endpoint answer (to widen race windows in tests). */
  tokenLatencyMs?: number;
  /** Added to every API answer. */
  apiLatencyMs?: number;
};

export type RecordedRequest = { at: number; method: string; route: string; path: string; status: number; accountId: number | null };

type Fault = { status: number; html: boolean; remaining: number; route?: string; accountId?: number; accessToken?: string; retryAfterSeconds?: number };

/** A token pair the token endpoint has just issued, for tests that time faults by refreshes. */
export type TokenIssued = { accountId: number; grant: "authorization_code" | "refresh_token"; accessToken: string };

const TOKEN_ROUTE = "POST /oauth2/access_token";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export class KommoSimulator {
  readonly store: SimStore;
  readonly requests: RecordedRequest[] = [];
  url = "";
  private offsetMs = 0;
  private readonly admitted = new Map<number, number[]>();
  private faults: Fault[] = [];
  private afterAnswers: { route: string; listener: () => void }[] = [];
  /** The Kommo user the browser is logged in as, for the consent page (see consent.ts). */
  private login: KommoLogin | null = null;
  private blocked = false;
  private readonly tokenListeners: Array<(issued: TokenIssued) => void> = [];
  private readonly server: Server;

  private constructor(private readonly options: KommoSimulatorOptions) {
    this.store = new SimStore(() => this.now());
    this.server = createServer((req, res) => {
      this.handle(req).then(
        (response) => write(res, response),
        (error: unknown) => write(res, problem(500, `simulator error: ${String(error)}`)),
      );
    });
  }

  static async start(options: KommoSimulatorOptions): Promise<KommoSimulator> {
    const simulator = new KommoSimulator(options);
    await new Promise<void>((resolve) => simulator.server.listen(0, "127.0.0.1", resolve));
    simulator.url = `http://127.0.0.1:${(simulator.server.address() as AddressInfo).port}`;
    return simulator;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The simulator's clock: real time plus whatever the test moved it forward. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  advanceTime(ms: number): void {
    this.offsetMs += ms;
  }

  /** Slow Kommo down (or speed it up again) from now on. */
  setLatency(latency: { tokenMs?: number; apiMs?: number }): void {
    if (latency.tokenMs !== undefined) this.options.tokenLatencyMs = latency.tokenMs;
    if (latency.apiMs !== undefined) this.options.apiLatencyMs = latency.apiMs;
  }

  // --- accounts, codes, tokens ---------------------------------------------------------------

  addAccount(input: Parameters<SimStore["addAccount"]>[0]): SimAccount {
    return this.store.addAccount(input);
  }

  /** The code Kommo hands to the Redirect URI when an admin installs or consents (20 min, single use). */
  issueCode(accountId: number, userId?: number): string {
    this.store.account(accountId);
    const code = secretToken("sim-code-");
    this.store.codes.set(code, { accountId, expiresAt: this.now() + CODE_LIFETIME_SECONDS * 1000, used: false, userId });
    return code;
  }

  /** Log the browser in to Kommo as this user (default: the account's first admin), for the consent page. */
  logIn(accountId: number, userId?: number): void {
    const account = this.store.account(accountId);
    const user = userId === undefined ? account.users[0]! : account.users.find((candidate) => candidate.id === userId);
    if (!user) throw new Error(`simulator: no user ${userId} in account ${accountId}`);
    this.login = { accountId, userId: user.id };
  }

  logOut(): void {
    this.login = null;
  }

  /** A token pair as if obtained earlier (for tests that start from an installed account). */
  issueTokens(accountId: number) {
    return issueTokenPair(this.store, accountId, this.now(), this.options.accessTokenLifetimeSeconds ?? ACCESS_TOKEN_LIFETIME_SECONDS);
  }

  /** Kommo considers the account's access tokens expired (the refresh tokens stay valid). */
  expireAccessTokens(accountId?: number): void {
    for (const token of this.store.accessTokens.values()) {
      if (accountId === undefined || token.accountId === accountId) token.expiresAt = Math.min(token.expiresAt, this.now() - 1);
    }
  }

  /** The admin deactivated the integration: every token of the account stops working. */
  revokeAccess(accountId: number): void {
    for (const token of this.store.accessTokens.values()) if (token.accountId === accountId) token.revoked = true;
    for (const token of this.store.refreshTokens.values()) if (token.accountId === accountId) token.revoked = true;
  }

  /**
   * The admin uninstalled the integration: its tokens are revoked, and the query string Kommo sends
   * to the "Access revoked notification web hook" is returned (GET, HMAC-SHA256 of
   * "<client_id>|<account_id>" keyed with the client secret; no nonce, no time).
   */
  uninstall(accountId: number): URLSearchParams {
    this.store.account(accountId);
    this.revokeAccess(accountId);
    const signature = createHmac("sha256", this.options.clientSecret).update(`${this.options.clientId}|${accountId}`).digest("hex");
    return new URLSearchParams({ client_uuid: this.options.clientId, account_id: String(accountId), signature });
  }

  // --- data ----------------------------------------------------------------------------------

  continueIdsFrom: SimStore["continueIdsFrom"] = (...args) => this.store.continueIdsFrom(...args);
  seedPipeline: SimStore["seedPipeline"] = (...args) => this.store.seedPipeline(...args);
  seedCompany: SimStore["seedCompany"] = (...args) => this.store.seedCompany(...args);
  seedLossReason: SimStore["seedLossReason"] = (...args) => this.store.seedLossReason(...args);
  seedContact: SimStore["seedContact"] = (...args) => this.store.seedContact(...args);
  seedLead: SimStore["seedLead"] = (...args) => this.store.seedLead(...args);
  updateLead: SimStore["updateLead"] = (...args) => this.store.updateLead(...args);

  account(accountId: number): SimAccount {
    return this.store.account(accountId);
  }

  /** A contact custom field an admin made in Kommo (e.g. a checkbox "Newsletter opt-in"). */
  addContactField(accountId: number, input: { name: string; type: string; code?: string; enums?: string[] }): SimFieldDefinition {
    const field: SimFieldDefinition = {
      id: this.store.id(),
      name: input.name,
      type: input.type,
      code: input.code ?? null,
      is_api_only: false,
      enums: input.enums ? input.enums.map((value, index) => ({ id: this.store.id(), value, sort: (index + 1) * 10 })) : null,
    };
    contactFields(this.store.account(accountId)).push(field);
    return field;
  }

  contactFields(accountId: number): SimFieldDefinition[] {
    return contactFields(this.store.account(accountId));
  }

  /** A person ticks or unticks a contact checkbox in Kommo (the contact's updated_at moves on). */
  setContactCheckbox(accountId: number, contactId: number, fieldId: number, value: boolean): void {
    const account = this.store.account(accountId);
    const contact = account.contacts.get(contactId);
    const field = contactFields(account).find((candidate) => candidate.id === fieldId);
    if (!contact || !field) throw new Error(`simulator: no contact ${contactId} or field ${fieldId}`);
    setContactField(contact, field, [{ value }]);
    contact.updated_at = Math.max(contact.updated_at + 1, this.store.nowSeconds());
  }

  /** The values of a contact's field by id or code (null when it has none). */
  contactFieldValues(accountId: number, contactId: number, field: { id?: number; code?: string }): (string | boolean)[] | null {
    const contact = this.store.account(accountId).contacts.get(contactId);
    const entry = contact?.custom_fields_values?.find((candidate) => (field.id !== undefined ? candidate.field_id === field.id : candidate.field_code === field.code));
    return entry ? entry.values.map((value) => value.value) : null;
  }

  /** The form body Kommo would post for this lead change. */
  leadWebhookBody(accountId: number, leadId: number, action: LeadAction, options: { oldStatusId?: number } = {}): string {
    const account = this.store.account(accountId);
    const lead = account.leads.get(leadId);
    if (!lead) throw new Error(`simulator: no lead ${leadId}`);
    return encodeKommoForm(leadDelivery(account, lead, action, options));
  }

  /** The Digital Pipeline hook Kommo would post for this lead, in either encoding. */
  digitalPipelineHookBody(
    accountId: number,
    leadId: number,
    options: DigitalPipelineHookOptions & { encoding: "json" | "form" },
  ): { body: string; contentType: string } {
    const account = this.store.account(accountId);
    const lead = account.leads.get(leadId);
    if (!lead) throw new Error(`simulator: no lead ${leadId}`);
    return encodeDigitalPipelineHook(digitalPipelineHook(account, lead, options), options.encoding);
  }

  companyWebhookBody(accountId: number, companyId: number): string {
    const account = this.store.account(accountId);
    const company = account.companies.get(companyId);
    if (!company) throw new Error(`simulator: no company ${companyId}`);
    return encodeKommoForm(companyUpdateDelivery(account, company));
  }

  contactWebhookBody(accountId: number, contactId: number): string {
    const account = this.store.account(accountId);
    const contact = account.contacts.get(contactId);
    if (!contact) throw new Error(`simulator: no contact ${contactId}`);
    return encodeKommoForm(contactUpdateDelivery(account, contact));
  }

  // --- faults and counters -------------------------------------------------------------------

  /**
   * Called as the token endpoint issues a pair, before the answer leaves: a fault injected here
   * lands on the calls that follow this refresh, whatever the wall clock says.
   */
  onTokenIssued(listener: (issued: TokenIssued) => void): () => void {
    this.tokenListeners.push(listener);
    return () => {
      const index = this.tokenListeners.indexOf(listener);
      if (index >= 0) this.tokenListeners.splice(index, 1);
    };
  }

  /**
   * Run `listener` once, right after the next successful answer of `route` (e.g. "GET
   * /api/v4/leads/pipelines"): for a test that changes the account between two calls of a client.
   */
  afterAnswer(route: string, listener: () => void): void {
    this.afterAnswers.push({ route, listener });
  }

  /**
   * The next `times` API calls (optionally only of `route`, of one account, or made with one access
   * token) fail with `status`.
   */
  failNext(fault: { status: number; times?: number; route?: string; accountId?: number; accessToken?: string; html?: boolean; retryAfterSeconds?: number }): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1, html: fault.html ?? false });
  }

  /** Kommo's IP block: every API call answers nginx's 403 HTML page. */
  setBlocked(blocked: boolean): void {
    this.blocked = blocked;
  }

  count(route: string, filter: { accountId?: number; status?: number } = {}): number {
    return this.requests.filter(
      (request) =>
        request.route === route &&
        (filter.accountId === undefined || request.accountId === filter.accountId) &&
        (filter.status === undefined || request.status === filter.status),
    ).length;
  }

  /** Most API requests of the account that arrived within any `windowMs` (Kommo's limit is 7 per 1000). */
  peakRequests(accountId: number, windowMs = 1000): number {
    const times = this.requests.filter((request) => request.accountId === accountId && request.route !== TOKEN_ROUTE).map((request) => request.at);
    times.sort((a, b) => a - b);
    let peak = 0;
    for (let start = 0, end = 0; start < times.length; start++) {
      while (end < times.length && times[end]! < times[start]! + windowMs) end++;
      peak = Math.max(peak, end - start);
    }
    return peak;
  }

  resetCounters(): void {
    this.requests.length = 0;
  }

  // --- HTTP ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage): Promise<SimResponse> {
    const at = Date.now();
    const url = new URL(req.url ?? "/", this.url);
    const method = req.method ?? "GET";
    const body = await readBody(req);
    const contentType = (req.headers["content-type"] ?? "").toLowerCase();
    const record = (route: string, accountId: number | null, response: SimResponse) => {
      this.requests.push({ at, method, route, path: url.pathname, status: response.status, accountId });
      return response;
    };

    if (url.pathname === "/oauth2/access_token") {
      if (method !== "POST") return record(`${method} /oauth2/access_token`, null, problem(405, "Method not allowed"));
      if (this.options.tokenLatencyMs) await sleep(this.options.tokenLatencyMs);
      const answer = tokenEndpoint(this.store, this.options, this.now(), { contentType, body }, this.options.accessTokenLifetimeSeconds ?? ACCESS_TOKEN_LIFETIME_SECONDS);
      if (answer.response.status === 200 && answer.accountId !== null && answer.grantType !== null) {
        const accessToken = (JSON.parse(answer.response.body) as { access_token: string }).access_token;
        for (const listener of [...this.tokenListeners]) listener({ accountId: answer.accountId, grant: answer.grantType, accessToken });
      }
      return record(TOKEN_ROUTE, answer.accountId, answer.response);
    }

    if (url.pathname === "/oauth" || url.pathname.startsWith("/oauth/")) {
      const response = consentRoute({ method, url, config: this.options, login: this.login, store: this.store, issueCode: (account, user) => this.issueCode(account, user) });
      return record(`${method} ${url.pathname}`, this.login?.accountId ?? null, response);
    }

    if (!url.pathname.startsWith("/api/v4/")) return record(`${method} ${url.pathname}`, null, problem(404, "Not found"));
    const matching = API_ROUTES.filter((route) => route.pattern.test(url.pathname));
    const route = matching.find((candidate) => candidate.method === method);
    const routeKey = route?.key ?? `${method} ${url.pathname}`;

    if (this.blocked) return record(routeKey, null, blockPage());

    const authorization = req.headers.authorization ?? "";
    const bearer = /^Bearer (\S+)$/.exec(authorization)?.[1];
    const token = bearer ? this.store.accessTokens.get(bearer) : undefined;
    if (!token || token.revoked || token.expiresAt <= this.now()) return record(routeKey, token?.accountId ?? null, problem(401, "Unauthorized"));
    const accountId = token.accountId;

    const limit = this.options.requestsPerSecond ?? 7;
    const recent = (this.admitted.get(accountId) ?? []).filter((time) => time > at - 1000);
    if (recent.length >= limit) {
      this.admitted.set(accountId, recent);
      return record(
        routeKey,
        accountId,
        problem(429, `You have sent too many requests: exceed the limit of ${limit} requests per second`, { retry_after: this.options.retryAfterSeconds ?? 1 }),
      );
    }
    recent.push(at);
    this.admitted.set(accountId, recent);

    const fault = this.faults.find(
      (candidate) => candidate.remaining > 0 && (!candidate.route || candidate.route === routeKey) && (candidate.accountId === undefined || candidate.accountId === accountId) &&
        (candidate.accessToken === undefined || candidate.accessToken === bearer),
    );
    if (fault) {
      fault.remaining--;
      this.faults = this.faults.filter((candidate) => candidate.remaining > 0);
      const injected =
        fault.html && fault.status === 403
          ? blockPage()
          : fault.status === 429
            ? problem(429, "You have sent too many requests", { retry_after: fault.retryAfterSeconds ?? this.options.retryAfterSeconds ?? 1 })
            : problem(fault.status, `Injected failure ${fault.status}`);
      return record(routeKey, accountId, injected);
    }

    if (!route) return record(routeKey, accountId, matching.length ? problem(405, "Method not allowed") : problem(404, "Not found"));
    if (this.options.apiLatencyMs) await sleep(this.options.apiLatencyMs);
    const query = qs.parse(url.search.slice(1), { arrayLimit: 1000, depth: 5 }) as Record<string, unknown>;
    const response = route.handle(
      { method, path: url.pathname, query, contentType, body, account: this.store.account(accountId), userId: token.userId, baseUrl: this.url, store: this.store },
      route.pattern.exec(url.pathname)!,
    );
    if (response.status < 300) {
      token.answered = (token.answered ?? 0) + 1;
      const due = this.afterAnswers.filter((entry) => entry.route === routeKey);
      this.afterAnswers = this.afterAnswers.filter((entry) => entry.route !== routeKey);
      for (const entry of due) entry.listener();
    }
    return record(routeKey, accountId, response);
  }
}
