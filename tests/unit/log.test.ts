import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "@/lib/platform/log";

function capture(write: (log: ReturnType<typeof createLogger>) => void): string {
  const stream = new PassThrough();
  let output = "";
  stream.on("data", (chunk) => (output += chunk));
  const log = createLogger({ level: "info", format: "json", destination: stream });
  write(log);
  return output;
}

describe("logging", () => {
  it("redacts tokens, keys and authorization headers wherever they appear", () => {
    const output = capture((log) =>
      log.info(
        {
          accessToken: "at-secret",
          tokens: { refresh_token: "rt-secret", access_token: "at2-secret" },
          settings: { klaviyoApiKey: "pk_secret_key" },
          request: { headers: { authorization: "Bearer at-secret", "x-auth-token": "jwt-secret" } },
          oauth: { code: "auth-code-secret", client_secret: "cs-secret" },
          leadId: 42,
        },
        "calling Kommo",
      ),
    );
    for (const secret of ["at-secret", "rt-secret", "at2-secret", "pk_secret_key", "jwt-secret", "auth-code-secret", "cs-secret"]) {
      expect(output).not.toContain(secret);
    }
    const line = JSON.parse(output);
    expect(line.leadId).toBe(42);
    expect(line.msg).toBe("calling Kommo");
    expect(line.accessToken).toBe("[redacted]");
  });
});
