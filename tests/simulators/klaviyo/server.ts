// A Klaviyo API simulator for tests: a real HTTP server on 127.0.0.1 that checks every request as
// Klaviyo would (key and scopes, revision header, content type, query and body against the spec),
// keeps state, enforces the per-endpoint rate limits and records every request it receives.
// Optional latency makes every answer take as long as a call over the internet would.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Faults, type Fault } from "./faults";
import { route, SIM_OPERATIONS, type SimOperation } from "./operations";
import { parseQuery } from "./query";
import { errorResponse, SimHttpError, type SimResponse } from "./responses";
import { describeIssue } from "./schemas";
import { FixedWindowLimiter, type WindowLimits } from "./rate-limits";
import { newShortId, SimAccount } from "./store";

/** Every scope the simulated operations check. */
export const ALL_SCOPES = [...new Set(SIM_OPERATIONS.flatMap((operation) => operation.scopes))].sort();

/** API revisions Klaviyo has published (branches of klaviyo/openapi), up to the spec's 2026-07-15. */
const REVISIONS = new Set([
  "2022-10-17", "2023-01-24", "2023-02-22", "2023-06-15", "2023-07-15", "2023-08-15", "2023-09-15", "2023-10-15",
  "2023-12-15", "2024-02-15", "2024-05-15", "2024-06-15", "2024-07-15", "2024-10-15", "2025-01-15", "2025-04-15",
  "2025-07-15", "2025-10-15", "2026-01-15", "2026-04-15", "2026-07-15",
]);

const JSON_API = "application/vnd.api+json";
const ACCEPTED_TYPES = [JSON_API, "application/json"];

export type RecordedRequest = {
  seq: number;
  /** Epoch ms when the request arrived. */
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Klaviyo operationId, or null for a path Klaviyo does not have. */
  operation: string | null;
  body: unknown;
  /** Headers, query and body are what Klaviyo's spec accepts. */
  valid: boolean;
  problems: string[];
  status: number;
  /** Epoch ms when the answer was sent (null while pending, or when the connection was dropped). */
  answeredAt: number | null;
  fault: string | null;
  keyHint: string | null;
};

export type KlaviyoSimulatorOptions = {
  /** "spec" (default): the published limits; "off"; or per-operation overrides on top of the spec. */
  rateLimits?: "spec" | "off" | Record<string, WindowLimits>;
  /** Delay between the states of a bulk job (queued -> processing -> complete). Default 100 ms. */
  jobDelayMs?: number;
  organizationName?: string;
  /** Added before every answer (Klaviyo's own processing plus the network), default 0. */
  latencyMs?: number;
};

type KeyGrant = { scopes: Set<string>; account: SimAccount };

export class KlaviyoSimulator {
  readonly faults = new Faults();
  readonly requests: RecordedRequest[] = [];
  /** The account that keys belong to unless they name another. */
  readonly account: SimAccount;
  private readonly keys = new Map<string, KeyGrant>();
  private readonly limiter = new FixedWindowLimiter();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: Server | null = null;
  private base = "";

  constructor(private readonly options: KlaviyoSimulatorOptions = {}) {
    this.account = new SimAccount(newShortId(), options.organizationName ?? "Simulated Store");
  }

  get url(): string {
    return this.base;
  }

  /** Accept this private key; by default with every scope and on the default account. */
  addKey(key: string, options: { scopes?: readonly string[]; account?: SimAccount } = {}): void {
    this.keys.set(key, { scopes: new Set(options.scopes ?? ALL_SCOPES), account: options.account ?? this.account });
  }

  /** Answer every request this much later from now on. */
  setLatency(latencyMs: number): void {
    this.options.latencyMs = latencyMs;
  }

  removeKey(key: string): void {
    this.keys.delete(key);
  }

  createAccount(organizationName: string): SimAccount {
    return new SimAccount(newShortId(), organizationName);
  }

  /** Requests that Klaviyo's spec would not accept, with what is wrong with each. */
  invalidRequests(): RecordedRequest[] {
    return this.requests.filter((request) => !request.valid);
  }

  requestsFor(operation: string): RecordedRequest[] {
    return this.requests.filter((request) => request.operation === operation);
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.write(response, errorResponse(500, "error", String(error)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private later(task: () => void, steps = 1): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      task();
    }, (this.options.jobDelayMs ?? 100) * steps);
    this.timers.add(timer);
  }

  private limitsFor(operation: SimOperation): WindowLimits | null {
    const setting = this.options.rateLimits ?? "spec";
    if (setting === "off") return null;
    if (setting !== "spec" && setting[operation.id]) return setting[operation.id]!;
    return { burstPerSecond: operation.burstPerSecond, steadyPerMinute: operation.steadyPerMinute };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const at = Date.now();
    const rawBody = await readBody(request);
    const url = new URL(request.url ?? "/", this.base);
    const method = request.method ?? "GET";
    const record: RecordedRequest = {
      seq: this.requests.length + 1,
      at,
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      operation: null,
      body: undefined,
      valid: false,
      problems: [],
      status: 0,
      answeredAt: null,
      fault: null,
      keyHint: null,
    };
    this.requests.push(record);
    const respond = (answer: SimResponse) => {
      record.status = answer.status;
      record.answeredAt = Date.now();
      this.write(response, answer);
    };
    // The time Klaviyo takes: before anything is decided, so the state changes when the answer goes out.
    if (this.options.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));

    const found = route(method, url.pathname);
    if (!found || "allowed" in found) {
      record.problems.push(found ? `method ${method} not allowed` : `no such endpoint ${url.pathname}`);
      respond(found ? errorResponse(405, "method_not_allowed", `Method "${method}" not allowed.`, {}, {}, { Allow: found.allowed.join(", ") }) : errorResponse(404, "not_found", "Not found."));
      return;
    }
    const { operation, pathParams } = found;
    record.operation = operation.id;

    // What Klaviyo's spec says about this request, whatever the answer will be.
    const authorization = request.headers.authorization ?? "";
    const keyMatch = /^Klaviyo-API-Key (\S+)$/.exec(authorization);
    const apiKey = keyMatch?.[1] ?? null;
    record.keyHint = apiKey ? `…${apiKey.slice(-4)}` : null;
    if (!apiKey) record.problems.push("Authorization header is not 'Klaviyo-API-Key <private key>'");
    const revision = header(request, "revision");
    const revisionProblem = !revision
      ? "revision header is missing"
      : !/^\d{4}-\d{2}-\d{2}(\.pre)?$/.test(revision) || !REVISIONS.has(revision.replace(/\.pre$/, ""))
        ? `revision '${revision}' is not a Klaviyo API revision (YYYY-MM-DD[.pre])`
        : null;
    if (revisionProblem) record.problems.push(revisionProblem);
    const accept = header(request, "accept");
    const acceptable = !accept || accept.split(",").some((type) => [...ACCEPTED_TYPES, "*/*", "application/*"].includes(type.split(";")[0]!.trim()));
    if (!acceptable) record.problems.push(`Accept '${accept}' does not allow JSON`);
    const contentType = header(request, "content-type")?.split(";")[0]?.trim();
    const contentTypeProblem = operation.body && !ACCEPTED_TYPES.includes(contentType ?? "") ? `Content-Type '${contentType ?? ""}' is not ${JSON_API}` : null;
    if (contentTypeProblem) record.problems.push(contentTypeProblem);
    const query = parseQuery(url.searchParams, operation.query);
    for (const problem of query.problems) record.problems.push(`${problem.parameter}: ${problem.detail}`);
    const tooLarge = operation.maxBodyBytes !== undefined && rawBody.length > operation.maxBodyBytes;
    if (tooLarge) record.problems.push(`body is ${rawBody.length} bytes; the limit is ${operation.maxBodyBytes}`);
    let body: unknown;
    const bodyErrors: { pointer: string; detail: string }[] = [];
    if (operation.body) {
      try {
        record.body = JSON.parse(rawBody.toString("utf8"));
        const parsed = operation.body.safeParse(record.body);
        if (parsed.success) body = parsed.data;
        else bodyErrors.push(...parsed.error.issues.map(describeIssue));
      } catch {
        bodyErrors.push({ pointer: "/", detail: "The request body is not valid JSON." });
      }
      for (const error of bodyErrors) record.problems.push(`${error.pointer}: ${error.detail}`);
    } else if (rawBody.length > 0) {
      record.problems.push(`${method} ${operation.path} takes no body`);
    }
    record.valid = record.problems.length === 0;

    const fault = this.faults.pick(operation.id);
    if (fault) {
      record.fault = fault.kind === "status" ? String(fault.status) : fault.kind;
      if (fault.kind === "reset") {
        request.socket.destroy();
        return;
      }
      if (fault.kind === "slow") await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      else if (!fault.afterApply) return respond(faultResponse(fault));
    }

    const grant = apiKey ? this.keys.get(apiKey) : undefined;
    const answer = ((): SimResponse => {
      if (!grant) return errorResponse(401, "not_authenticated", "Missing or invalid private key.");
      if (revisionProblem) return errorResponse(400, "invalid", revisionProblem, { parameter: "revision" });
      if (!acceptable) return errorResponse(406, "not_acceptable", "Could not satisfy the request Accept header.");
      if (contentTypeProblem) return errorResponse(415, "unsupported_media_type", `Unsupported media type "${contentType ?? ""}" in request.`);
      const limits = this.limitsFor(operation);
      const admission = limits ? this.limiter.admit(`${grant.account.id}:${operation.id}`, limits) : { allowed: true as const, headers: {} };
      if (!admission.allowed) {
        const seconds = admission.retryAfterSeconds;
        return errorResponse(429, "throttled", `Request was throttled. Expected available in ${seconds} second${seconds === 1 ? "" : "s"}.`, { pointer: "/data/" }, {}, {
          "Retry-After": String(seconds),
        });
      }
      const withLimitHeaders = (answer: SimResponse): SimResponse => ({ ...answer, headers: { ...admission.headers, ...answer.headers } });
      if (operation.scopes.some((scope) => !grant.scopes.has(scope))) {
        return withLimitHeaders(errorResponse(403, "permission_denied", "You do not have permission to perform this action."));
      }
      if (tooLarge) return withLimitHeaders(errorResponse(413, "payload_too_large", `The request body exceeds ${operation.maxBodyBytes} bytes.`));
      if (query.problems.length > 0) {
        const [first] = query.problems;
        return withLimitHeaders(errorResponse(400, "invalid", first!.detail, { parameter: first!.parameter }));
      }
      if (bodyErrors.length > 0) return withLimitHeaders(validationResponse(bodyErrors));
      try {
        return withLimitHeaders(
          operation.handle({ account: grant.account, pathParams, query, url, base: this.base, body, later: (task, steps) => this.later(task, steps) }),
        );
      } catch (error) {
        if (error instanceof SimHttpError) return withLimitHeaders(error.toResponse());
        throw error;
      }
    })();
    respond(fault && fault.afterApply && fault.kind !== "slow" ? faultResponse(fault) : answer);
  }

  private write(response: ServerResponse, answer: SimResponse): void {
    const headers: Record<string, string> = { ...answer.headers };
    if (answer.body === undefined) {
      response.writeHead(answer.status, headers).end();
      return;
    }
    if (typeof answer.body === "string") {
      response.writeHead(answer.status, { "Content-Type": "text/html; charset=UTF-8", ...headers }).end(answer.body);
      return;
    }
    response.writeHead(answer.status, { "Content-Type": JSON_API, ...headers }).end(JSON.stringify(answer.body));
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function validationResponse(errors: { pointer: string; detail: string }[]): SimResponse {
  const base = errorResponse(400, "invalid", errors[0]!.detail, { pointer: errors[0]!.pointer });
  const [template] = (base.body as { errors: Record<string, unknown>[] }).errors;
  return { ...base, body: { errors: errors.map((error, index) => ({ ...template, ...(index > 0 && { id: `${String(template!.id)}-${index}` }), detail: error.detail, source: { pointer: error.pointer } })) } };
}

function faultResponse(fault: Exclude<Fault, { kind: "reset" | "slow" }>): SimResponse {
  if (fault.kind === "garbled") return { status: 200, headers: {}, body: { unexpected: true } };
  if (fault.kind === "html403") {
    return {
      status: 403,
      headers: { "cf-mitigated": "challenge" },
      body: "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>",
    };
  }
  if (fault.kind === "html200") {
    return { status: 200, body: "<!DOCTYPE html><html><body>Service page</body></html>" };
  }
  if (fault.status === 429) {
    const seconds = fault.retryAfterSeconds ?? 1;
    return errorResponse(429, "throttled", `Request was throttled. Expected available in ${seconds} seconds.`, { pointer: "/data/" }, {}, { "Retry-After": String(seconds) });
  }
  return errorResponse(fault.status, fault.status >= 500 ? "error" : "invalid", `Simulated failure ${fault.status}.`);
}

export async function startKlaviyoSimulator(options: KlaviyoSimulatorOptions = {}): Promise<KlaviyoSimulator> {
  return new KlaviyoSimulator(options).start();
}
