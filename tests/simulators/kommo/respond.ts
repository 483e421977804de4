// How the simulated Kommo answers: hal+json for data, problem+json for errors (with Kommo's
// httpstatus.es types), OAuth problems with `hint`, and nginx's HTML page for the 403 block.
import type { ServerResponse } from "node:http";

export type SimResponse = { status: number; headers: Record<string, string>; body: string };

export const hal = (status: number, body: unknown): SimResponse => ({
  status,
  headers: { "Content-Type": "application/hal+json" },
  body: JSON.stringify(body),
});

export const noContent = (): SimResponse => ({ status: 204, headers: {}, body: "" });

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

export function problem(status: number, detail: string, extra: Record<string, unknown> = {}): SimResponse {
  return {
    status,
    headers: { "Content-Type": "application/problem+json" },
    body: JSON.stringify({ title: TITLES[status] ?? "Error", type: `https://httpstatus.es/${status}`, status, detail, ...extra }),
  };
}

export type ValidationError = { code: string; path: string; detail: string };

/** 400 with Kommo's `validation-errors` list. */
export const validationProblem = (errors: ValidationError[]): SimResponse =>
  problem(400, "Request validation failed", { "validation-errors": [{ request_id: "0", errors }] });

export function oauthProblem(status: number, hint: string, detail: string): SimResponse {
  return {
    status,
    headers: { "Content-Type": "application/problem+json" },
    body: JSON.stringify({
      hint,
      title: status === 401 ? "Unauthorized" : "Bad Request",
      type: "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
      status,
      detail,
    }),
  };
}

export const blockPage = (): SimResponse => ({
  status: 403,
  headers: { "Content-Type": "text/html" },
  body: "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
});

export function write(res: ServerResponse, response: SimResponse): void {
  res.writeHead(response.status, { ...response.headers, "Content-Length": Buffer.byteLength(response.body) });
  res.end(response.body);
}
