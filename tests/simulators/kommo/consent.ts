// Kommo's consent page (https://www.kommo.com/oauth?client_id=…&state=…&mode=…) for browser tests.
// Kommo shows the logged-in user which integration asks for access; "Allow" sends the browser to the
// integration's registered Redirect URI with `code`, `state`, `referer` and `client_id`, "Decline"
// with `error=access_denied`. The redirect target is the registered URI, never a URL from the
// request, as on the real page. The code is bound to the user, so the account API's
// `current_user_id` names them after the exchange.
import type { OAuthConfig } from "./oauth";
import type { SimResponse } from "./respond";
import type { SimStore, SimUser } from "./store";

/** Who the browser is logged in to Kommo as (Kommo's own session; the simulator keeps one). */
export type KommoLogin = { accountId: number; userId: number };

export type ConsentRequest = {
  method: string;
  url: URL;
  config: OAuthConfig;
  login: KommoLogin | null;
  store: SimStore;
  issueCode: (accountId: number, userId: number) => string;
};

const escape = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const html = (status: number, title: string, body: string): SimResponse => ({
  status,
  headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" },
  body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} | Kommo</title>
<style>
  body { font-family: system-ui, sans-serif; background: #eef1f6; color: #1f2a3c; margin: 0; }
  .box { max-width: 420px; margin: 80px auto; background: #fff; border-radius: 10px; padding: 32px; box-shadow: 0 4px 20px rgba(20, 30, 60, .12); }
  h1 { font-size: 20px; margin: 0 0 12px; }
  p { line-height: 1.5; }
  .actions { display: flex; gap: 12px; margin-top: 24px; }
  button { font: inherit; padding: 10px 20px; border-radius: 6px; border: 1px solid #c7cfdb; background: #fff; cursor: pointer; }
  button[value=allow] { background: #3471f5; border-color: #3471f5; color: #fff; }
</style></head><body><div class="box">${body}</div></body></html>`,
});

function redirect(location: string): SimResponse {
  return { status: 302, headers: { Location: location, "Cache-Control": "no-store" }, body: "" };
}

/** A user of a simulated account who is not the first admin (e.g. a sales manager). */
export function addKommoUser(
  store: SimStore,
  accountId: number,
  input: { name: string; email: string; isAdmin: boolean; groupId?: number | null; leads?: SimUser["leads"]; statusRights?: SimUser["status_rights"] },
): SimUser {
  const user: SimUser = {
    id: store.id(),
    name: input.name,
    email: input.email,
    lang: "en",
    is_admin: input.isAdmin,
    is_active: true,
    group_id: input.groupId ?? null,
    leads: input.leads,
    status_rights: input.statusRights,
  };
  store.account(accountId).users.push(user);
  return user;
}

export function consentRoute(request: ConsentRequest): SimResponse {
  const { url, config, login, store } = request;
  if (request.method !== "GET") return html(405, "Not allowed", "<h1>Method not allowed</h1>");
  const clientId = url.searchParams.get("client_id");
  const state = url.searchParams.get("state");
  const mode = url.searchParams.get("mode") ?? "popup";
  if (clientId !== config.clientId) return html(400, "Unknown integration", "<h1>Unknown integration</h1><p>No integration has this client_id.</p>");
  if (!login) return html(401, "Log in", "<h1>Log in to Kommo</h1><p>You are not logged in to Kommo.</p>");
  const account = store.account(login.accountId);
  const user = account.users.find((candidate) => candidate.id === login.userId)!;

  if (url.pathname === "/oauth") {
    const hidden = [
      ["client_id", clientId],
      ["mode", mode],
      ...(state === null ? [] : [["state", state]]),
    ]
      .map(([name, value]) => `<input type="hidden" name="${name}" value="${escape(value!)}">`)
      .join("");
    return html(
      200,
      "Allow access",
      `<h1>Allow access to your Kommo account?</h1>
<p>The integration <strong>Klaviyo Sync</strong> asks for access to <strong>${escape(account.name)}</strong>
(${escape(account.subdomain)}.kommo.com).</p>
<p>Logged in as ${escape(user.name)} &lt;${escape(user.email)}&gt;</p>
<form method="get" action="/oauth/decide">${hidden}
<div class="actions"><button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="decline">Decline</button></div>
</form>`,
    );
  }

  if (url.pathname === "/oauth/decide") {
    const target = new URL(config.redirectUri);
    const answer =
      url.searchParams.get("decision") === "allow"
        ? { code: request.issueCode(account.id, user.id), referer: `${account.subdomain}.kommo.com` }
        : { error: "access_denied" };
    for (const [name, value] of Object.entries(answer)) target.searchParams.set(name, value);
    if (state !== null) target.searchParams.set("state", state);
    target.searchParams.set("client_id", clientId);
    return redirect(target.toString());
  }

  return html(404, "Not found", "<h1>Not found</h1>");
}
