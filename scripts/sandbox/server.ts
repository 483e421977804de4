// The sandbox page's server (loopback only): the board and the Klaviyo panel (GET /, GET /state,
// POST /actions/*), the Kommo-like pages that run the real widget (under /kommo, the browser
// tests' harness), and the widget's backend calls. The widget is built for this server's origin and
// its calls are passed on to the app as Kommo's page would make them (the account's Kommo origin,
// Kommo's signed token), so that the sandbox opens in any browser without CORS exceptions.
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { z } from "zod";
import { harnessRoutes } from "../../tests/browser/harness/server";
import { sandboxPage } from "./page";
import { SANDBOX_CLIENT_ID, SandboxInputError, type SandboxWorld } from "./world";

export type SandboxServer = { url: string; setWidgetFiles: (files: Record<string, Uint8Array>) => void; close: () => Promise<void> };

const MAX_BODY = 64 * 1024;
const name = z.string().trim().max(120);
const ACTIONS = {
  move: z.object({ leadId: z.number().int().positive(), statusId: z.number().int().positive() }),
  amount: z.object({ leadId: z.number().int().positive(), price: z.number().int().min(0).max(1e12) }),
  contact: z.object({ leadId: z.number().int().positive(), firstName: name.min(1), lastName: name, email: z.union([z.email().max(254), z.literal("")]) }),
  add: z.object({ name: name.min(1), price: z.number().int().min(0).max(1e12), statusId: z.number().int().positive(), firstName: name.min(1), lastName: name, email: z.union([z.email().max(254), z.literal("")]) }),
  email: z.object({ email: z.email().max(254), action: z.enum(["open", "click", "unsubscribe", "bounce"]) }),
  dp: z.object({ statusId: z.number().int().positive(), settings: z.record(z.string().max(64), z.string().max(2000)) }),
};

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) request.destroy(new Error("body too large"));
      else chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

export async function startSandboxServer(world: SandboxWorld, options: { appUrl: string; port?: number }): Promise<SandboxServer> {
  let base = "";
  let widgetFiles: Record<string, Uint8Array> = {};
  const staticFile = (file: string) => readFileSync(path.join(__dirname, file));
  const kommo = harnessRoutes(
    {
      get widgetFiles() {
        return widgetFiles;
      },
      account: { id: world.accountId, subdomain: world.subdomain, timezone: "America/New_York" },
      clientId: SANDBOX_CLIENT_ID,
      issueToken: (userId) => world.widgetToken(userId),
    },
    () => `${base}/kommo`,
  );

  const run = async (action: string, body: unknown): Promise<unknown> => {
    switch (action) {
      case "move": {
        const input = ACTIONS.move.parse(body);
        return world.moveDeal(input.leadId, input.statusId);
      }
      case "amount": {
        const input = ACTIONS.amount.parse(body);
        return world.setAmount(input.leadId, input.price);
      }
      case "contact": {
        const { leadId, ...input } = ACTIONS.contact.parse(body);
        return world.editContact(leadId, input);
      }
      case "add":
        return { leadId: await world.addDeal(ACTIONS.add.parse(body)) };
      case "email": {
        const input = ACTIONS.email.parse(body);
        return world.emailActivity(input.email, input.action);
      }
      case "dp":
        return world.saveDigitalPipelineAction(ACTIONS.dp.parse(body));
      default:
        throw new SandboxInputError(`no action ${action}`);
    }
  };

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", base);
    const send = (status: number, type: string, body: string | Uint8Array) => {
      response.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
      response.end(body);
    };
    const json = (status: number, body: unknown) => send(status, "application/json; charset=utf-8", JSON.stringify(body ?? {}));
    void (async () => {
      const method = request.method ?? "GET";
      // Loopback only, and only under a loopback name: a page elsewhere cannot reach the sandbox
      // through a DNS name of its own, nor post its actions (JSON needs a preflight nobody answers).
      const port = new URL(base).port;
      if (![`127.0.0.1:${port}`, `localhost:${port}`].includes(request.headers.host ?? "")) return send(421, "text/plain; charset=utf-8", "misdirected request");
      if (method === "POST" && url.pathname.startsWith("/actions/") && !(request.headers["content-type"] ?? "").startsWith("application/json")) {
        return json(415, { error: "send JSON" });
      }
      if (method === "GET" && url.pathname === "/") {
        const lang = ["es", "pt"].includes(url.searchParams.get("lang") ?? "") ? (url.searchParams.get("lang") as "es" | "pt") : "en";
        return send(200, "text/html; charset=utf-8", sandboxPage({ lang, appUrl: options.appUrl, adminUserId: world.adminUserId }));
      }
      if (method === "GET" && url.pathname === "/sandbox.js") return send(200, "text/javascript; charset=utf-8", staticFile("sandbox.js"));
      if (method === "GET" && url.pathname === "/sandbox.css") return send(200, "text/css; charset=utf-8", staticFile("sandbox.css"));
      if (method === "GET" && url.pathname === "/state") return json(200, world.state());
      if (method === "POST" && url.pathname.startsWith("/actions/")) {
        let body: unknown;
        try {
          body = JSON.parse(await readBody(request));
        } catch {
          return json(400, { error: "the body is not JSON" });
        }
        try {
          return json(200, await run(url.pathname.slice("/actions/".length), body));
        } catch (error) {
          if (error instanceof z.ZodError || error instanceof SandboxInputError) return json(400, { error: error.message });
          throw error;
        }
      }
      if (url.pathname.startsWith("/api/widget/")) {
        // The widget's call, as the browser sends it from the account's Kommo page.
        const answer = await fetch(`${options.appUrl}${url.pathname}${url.search}`, {
          method,
          headers: {
            Origin: world.kommoOrigin,
            "X-Auth-Token": String(request.headers["x-auth-token"] ?? ""),
            ...(request.headers["content-type"] ? { "Content-Type": String(request.headers["content-type"]) } : {}),
          },
          body: method === "GET" || method === "HEAD" ? undefined : await readBody(request),
        });
        return send(answer.status, answer.headers.get("content-type") ?? "application/json", new Uint8Array(await answer.arrayBuffer()));
      }
      if (method === "GET" && (await kommo(url, "/kommo", send))) return;
      send(404, "text/plain; charset=utf-8", "not found");
    })().catch((error: unknown) => {
      if (!response.headersSent) json(500, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    setWidgetFiles: (files) => {
      widgetFiles = files;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
