// Who may see a deal's pane and press "Sync now" on it: the users Kommo lets view the deal. The
// widget token names the user; Kommo's GET /api/v4/users/{id} gives their lead rights (A all deals,
// G the deals of users in their group, M their own, D none; a stage's own rights replace the
// general ones for deals in that stage), and GET /api/v4/leads/{id} the deal's stage and
// responsible user. Admins see everything. Users' rights, and each user's verdict per deal, are
// cached briefly per process, so that a pane opened again does not ask Kommo again; a change of
// rights (or of the deal's responsible user) in Kommo applies within a minute.
import type { Account } from "@/lib/db/client";
import { OutcomeError } from "@/lib/outcomes";
import { kommoClientFor } from "@/lib/integrations/kommo/account-client";
import { INTERACTIVE_MAX_WAIT_MS } from "@/lib/integrations/kommo/rate";
import type { KommoClient } from "@/lib/integrations/kommo/client";
import type { KommoLead, KommoUser } from "@/lib/integrations/kommo/api-schemas";
import { tryTake, type BucketLimit } from "@/lib/rate-limit";
import type { WidgetClaims } from "./token";

/** How long a user's rights, as Kommo reported them, are trusted. */
export const RIGHTS_CACHE_MS = 60_000;
const CACHE_LIMIT = 5_000;

/**
 * Per user, for the widget routes that cost a Kommo or Klaviyo call: a pane opened a few times a
 * minute is far below it (30 at once, then one a second); a script pressing in a loop is not.
 */
export const WIDGET_USER_LIMIT: BucketLimit = { ratePerSecond: 1, burst: 30 };

type LeadAccessCode = "lead_access_denied" | "lead_not_found";

/** The user may not view this deal in Kommo; answered 403 (or 404 when Kommo has no such deal). */
export class LeadAccessError extends OutcomeError {
  constructor(code: LeadAccessCode, message: string) {
    super(code, message);
  }
}

/** Too many requests from one user; answered 429 with Retry-After. */
export class UserRateLimitedError extends OutcomeError {
  constructor(readonly retryAfterSeconds: number) {
    super("user_rate_limited", `too many requests from this user; try again in ${retryAfterSeconds} s`);
  }
}

type Rights = NonNullable<KommoUser["rights"]>;
type Cached = { rights: Rights | null; until: number };
const rightsCache = new Map<string, Cached>();

/** For tests: forget every cached right. */
export function forgetCachedRights(): void {
  rightsCache.clear();
  verdictCache.clear();
}

async function rightsOf(kommo: KommoClient, account: Account, userId: number): Promise<Rights | null> {
  const key = `${account.id}:${userId}`;
  const cached = rightsCache.get(key);
  if (cached && cached.until > Date.now()) return cached.rights;
  const user = await kommo.getUser(userId);
  const rights = user ? (user.rights ?? {}) : null;
  if (rightsCache.size >= CACHE_LIMIT) rightsCache.delete(rightsCache.keys().next().value!);
  rightsCache.set(key, { rights, until: Date.now() + RIGHTS_CACHE_MS });
  return rights;
}

/** The view right that applies to this deal: its stage's when the user has one, else the general one. */
export function viewRightFor(rights: Rights, lead: Pick<KommoLead, "pipeline_id" | "status_id">): "A" | "G" | "M" | "D" {
  const stage = rights.status_rights?.find(
    (entry) => entry.entity_type === "leads" && entry.pipeline_id === lead.pipeline_id && entry.status_id === lead.status_id,
  );
  // A right Kommo did not state is refused: the pane holds a person's data.
  return stage?.rights.view ?? rights.leads?.view ?? "D";
}

/** Verdicts per user and deal, kept as long as rights are: a pane opened again asks Kommo nothing. */
const verdictCache = new Map<string, { verdict: LeadAccessError | null; until: number }>();

/** Refuses (LeadAccessError) unless Kommo lets the token's user view the lead. */
export async function assertCanViewLead(account: Account, claims: WidgetClaims, leadId: number): Promise<void> {
  if (claims.is_admin === true) return;
  const key = `${account.id}:${claims.user_id}:${leadId}`;
  const cached = verdictCache.get(key);
  if (cached && cached.until > Date.now()) {
    if (cached.verdict) throw cached.verdict;
    return;
  }
  let verdict: LeadAccessError | null = null;
  try {
    await checkLeadView(account, claims, leadId);
  } catch (error) {
    if (!(error instanceof LeadAccessError)) throw error;
    verdict = error;
  }
  if (verdictCache.size >= CACHE_LIMIT) verdictCache.delete(verdictCache.keys().next().value!);
  verdictCache.set(key, { verdict, until: Date.now() + RIGHTS_CACHE_MS });
  if (verdict) throw verdict;
}

async function checkLeadView(account: Account, claims: WidgetClaims, leadId: number): Promise<void> {
  const kommo = await kommoClientFor(account.id, undefined, { maxSlotWaitMs: INTERACTIVE_MAX_WAIT_MS });
  const rights = await rightsOf(kommo, account, claims.user_id);
  if (!rights || rights.is_active === false) throw new LeadAccessError("lead_access_denied", "this Kommo user is not active in the account");
  if (rights.is_admin === true) return;
  const lead = await kommo.getLead(leadId, { with: [] });
  if (!lead) throw new LeadAccessError("lead_not_found", `Kommo has no deal ${leadId} in this account`);
  const denied = () => new LeadAccessError("lead_access_denied", "your Kommo rights do not let you view this deal");
  const right = viewRightFor(rights, lead);
  if (right === "A") return;
  if (right === "D") throw denied();
  const responsible = lead.responsible_user_id ?? null;
  if (responsible === claims.user_id) return;
  if (right === "M" || responsible === null) throw denied();
  // G: the deal's responsible user is in the user's group.
  const group = rights.group_id ?? null;
  if (group === null) throw denied();
  const responsibleRights = await rightsOf(kommo, account, responsible);
  if ((responsibleRights?.group_id ?? null) !== group) throw denied();
}

/** One request of this user against WIDGET_USER_LIMIT; throws UserRateLimitedError when over it. */
export async function throttleUser(account: Account, claims: WidgetClaims): Promise<void> {
  const waitMs = await tryTake(`widget:${account.id}:${claims.user_id}`, WIDGET_USER_LIMIT);
  if (waitMs > 0) throw new UserRateLimitedError(Math.max(1, Math.ceil(waitMs / 1000)));
}
