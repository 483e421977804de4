// Kommo's side of a webhook delivery: a form-encoded POST to the destination we registered, timed
// from the first byte sent to the last byte of the answer. Kommo gives up on an answer after 2 s
// and retries a delivery that failed, which `deliverLikeKommo` does too (bounded).
import http from "node:http";

export const KOMMO_ANSWER_LIMIT_MS = 2000;

export type Delivery = { status: number; ms: number; error?: string };

/** Keep-alive connections, as a busy sender would hold them; plenty of sockets for open-loop load. */
export const webhookAgent = new http.Agent({ keepAlive: true, maxSockets: 512 });

export function postForm(url: string, body: string, options: { timeoutMs?: number; contentType?: string; agent?: http.Agent } = {}): Promise<Delivery> {
  const target = new URL(url);
  if (target.hostname !== "127.0.0.1" && target.hostname !== "localhost") throw new Error(`only loopback deliveries, not ${target.hostname}`);
  const started = performance.now();
  return new Promise((resolve) => {
    const request = http.request(
      target,
      {
        method: "POST",
        agent: options.agent ?? webhookAgent,
        headers: {
          "Content-Type": options.contentType ?? "application/x-www-form-urlencoded",
          "Content-Length": Buffer.byteLength(body),
          "User-Agent": "amoCRM-Webhooks/3.0",
        },
        timeout: options.timeoutMs ?? 10_000,
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }));
        response.on("error", (error) => resolve({ status: 0, ms: performance.now() - started, error: error.message }));
      },
    );
    request.on("timeout", () => request.destroy(new Error("timed out")));
    request.on("error", (error) => resolve({ status: 0, ms: performance.now() - started, error: error.message }));
    request.end(body);
  });
}

/**
 * Deliver until the app answers 2xx, as Kommo retries a failed delivery; gives up after
 * `retryForMs`. Resolves to the final answer and how many attempts it took.
 */
export async function deliverLikeKommo(url: string, body: string, retryForMs = 60_000): Promise<Delivery & { attempts: number }> {
  const deadline = Date.now() + retryForMs;
  for (let attempts = 1; ; attempts++) {
    const delivery = await postForm(url, body, { timeoutMs: KOMMO_ANSWER_LIMIT_MS * 5 });
    if ((delivery.status >= 200 && delivery.status < 300) || Date.now() > deadline) return { ...delivery, attempts };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
