// The sandbox's simulated world: one Kommo account (the Kommo simulator) and its Klaviyo account
// (the Klaviyo simulator), seeded with a pipeline and a few deals, and the things a person does in
// them. A change on the board is made in the simulated Kommo and then delivered to the app as Kommo
// delivers it (the CRM webhook the install registered, form-encoded); an email action is recorded
// in the simulated Klaviyo and delivered as Klaviyo's signed system webhook. Nothing here talks to
// anything but loopback.
import {
  emailMarketing,
  KlaviyoSimulator,
  startKlaviyoSimulator,
  systemWebhookDelivery,
  unsubscribeAsRecipient,
  type SimAccount as KlaviyoAccount,
  type SimProfile,
} from "../../tests/simulators/klaviyo";
import { fireWebhook, KommoSimulator, EMAIL_FIELD_ID, LOST, WON } from "../../tests/simulators/kommo";
import { signWidgetToken } from "../../tests/browser/harness/widget-token";

export const SANDBOX_CLIENT_ID = "6a1d9c3e-5b7f-4e21-8c3d-2f9a0b1c4d5e";
export const SANDBOX_CLIENT_SECRET = "sandbox-client-secret-not-a-real-one";
export const SANDBOX_KLAVIYO_KEY = "pk_sandbox_full_access_key";
const KOMMO_ACCOUNT_ID = 30_100_001;
const SUBDOMAIN = "sandbox";

/** The stages of the seeded pipeline and the Klaviyo list each one feeds (the guide's four examples). */
export const SEED_STAGES = ["Qualification", "Proposal", "Negotiation"] as const;
export const SEED_LISTS = { Qualification: "Nurture", Negotiation: "Case studies", Won: "Onboarding and cross-sell", Lost: "Win-back" } as const;

const SEED_DEALS = [
  { name: "Office chairs for Brightline", price: 4800, stage: "Qualification", firstName: "Ana", lastName: "Souza", email: "ana.souza@example.com", phone: "+1 415 555 0134", daysAgo: 9 },
  { name: "Standing desks, 2nd floor", price: 12500, stage: "Proposal", firstName: "Diego", lastName: "Ramos", email: "diego.ramos@example.com", phone: "+1 415 555 0171", daysAgo: 16 },
  { name: "Meeting room refit", price: 21000, stage: "Negotiation", firstName: "Emma", lastName: "Clark", email: "emma.clark@example.com", phone: "+1 415 555 0188", daysAgo: 30 },
  { name: "Lounge sofas", price: 3200, stage: "Qualification", firstName: "Lucas", lastName: "Meyer", email: "lucas.meyer@example.com", phone: "+1 415 555 0192", daysAgo: 4 },
] as const;

/** Email consent as Klaviyo shows it on the profile: a suppression first, then the consent itself. */
function consentOf(profile: SimProfile): "subscribed" | "never_subscribed" | "unsubscribed" | "suppressed" {
  const state = emailMarketing(profile);
  if (state.suppression.some((entry) => entry.reason !== "UNSUBSCRIBE")) return "suppressed";
  if (state.consent === "UNSUBSCRIBED" || state.suppression.length > 0) return "unsubscribed";
  return state.consent === "SUBSCRIBED" ? "subscribed" : "never_subscribed";
}

export type EmailAction = "open" | "click" | "unsubscribe" | "bounce";
const EMAIL_METRICS: Record<EmailAction, string> = { open: "Opened Email", click: "Clicked Email", unsubscribe: "Unsubscribed", bounce: "Bounced Email" };
const SAMPLE_EMAIL = { Subject: "Your proposal from Northwind Furniture", "Campaign Name": "Proposal follow-up" };

export type DigitalPipelineAction = { statusId: number; settings: Record<string, string> };

export class SandboxWorld {
  readonly accountId = KOMMO_ACCOUNT_ID;
  readonly subdomain = SUBDOMAIN;
  readonly kommoOrigin = `https://${SUBDOMAIN}.kommo.com`;
  pipelineId = 0;
  /** Our Account row of the installed account (set by the launcher once the install finished). */
  accountRowId = "";
  /** Digital Pipeline actions saved from the sandbox's Digital Pipeline form, one per stage. */
  readonly dpActions = new Map<number, Record<string, string>>();
  readonly klaviyoAccount: KlaviyoAccount;

  private constructor(
    readonly kommo: KommoSimulator,
    readonly klaviyo: KlaviyoSimulator,
    private readonly app: { url: string; klaviyoHook: (accountRowId: string) => { endpointUrl: string; secretKey: string } },
  ) {
    this.klaviyoAccount = klaviyo.createAccount("Northwind Furniture");
  }

  static async start(app: SandboxWorld["app"]): Promise<SandboxWorld> {
    // Klaviyo's published rate limits and job pace, as the product meets them in production.
    const klaviyo = await startKlaviyoSimulator({ jobDelayMs: 200 });
    const kommo = await KommoSimulator.start({ clientId: SANDBOX_CLIENT_ID, clientSecret: SANDBOX_CLIENT_SECRET, redirectUri: `${app.url}/api/kommo/oauth/callback` });
    return new SandboxWorld(kommo, klaviyo, app);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.kommo.close(), this.klaviyo.close()]);
  }

  get kommoAccount() {
    return this.kommo.account(this.accountId);
  }

  get adminUserId(): number {
    return this.kommoAccount.users[0]!.id;
  }

  /** The Kommo account with its pipeline, contacts and deals, and the Klaviyo account with its lists and key. */
  seed(): void {
    this.kommo.addAccount({ id: this.accountId, subdomain: this.subdomain, name: "Northwind Furniture" });
    const pipeline = this.kommo.seedPipeline(this.accountId, { name: "Sales", stages: [...SEED_STAGES] });
    this.pipelineId = pipeline.id;
    this.kommo.seedLossReason(this.accountId, "Chose a competitor");
    for (const deal of SEED_DEALS) {
      const contact = this.kommo.seedContact(this.accountId, { firstName: deal.firstName, lastName: deal.lastName, emails: [deal.email], phones: [deal.phone] });
      // Deals from before the install: the install's import sends them as history (backfill).
      const updatedAt = this.kommo.store.nowSeconds() - deal.daysAgo * 86_400;
      this.kommo.seedLead(this.accountId, { name: deal.name, price: deal.price, pipelineId: pipeline.id, statusId: this.statusNamed(deal.stage), contactIds: [contact.id], updatedAt });
    }
    // Whoever opens the sandbox is logged in to the simulated Kommo as its admin, so that the
    // dashboard's "Sign in with Kommo" works as it does for a real admin.
    this.kommo.logIn(this.accountId);
    for (const name of [...Object.values(SEED_LISTS), "All CRM deals"]) this.klaviyoAccount.createList(name);
    this.klaviyo.addKey(SANDBOX_KLAVIYO_KEY, { account: this.klaviyoAccount });
  }

  statusNamed(name: string): number {
    if (name === "Won") return WON;
    if (name === "Lost") return LOST;
    const status = this.kommoAccount.pipelines.get(this.pipelineId)!.statuses.find((candidate) => candidate.name === name);
    if (!status) throw new Error(`no stage ${name}`);
    return status.id;
  }

  listNamed(name: string): string {
    return [...this.klaviyoAccount.lists.values()].find((list) => list.name === name)!.id;
  }

  /** The settings the widget's panel saves: the key, the four stage lists, and the list of every deal. */
  settingsBody() {
    return {
      klaviyoApiKey: SANDBOX_KLAVIYO_KEY,
      stageLists: Object.entries(SEED_LISTS).map(([stage, list]) => ({ pipelineId: this.pipelineId, statusId: this.statusNamed(stage), listId: this.listNamed(list) })),
      allDealsListId: this.listNamed("All CRM deals"),
    };
  }

  /** The one-time token Kommo's $authorizedAjax attaches, for this account's admin. */
  widgetToken(userId = this.adminUserId): Promise<string> {
    return signWidgetToken({
      clientId: SANDBOX_CLIENT_ID,
      clientSecret: SANDBOX_CLIENT_SECRET,
      audience: this.app.url,
      accountId: this.accountId,
      subdomain: this.subdomain,
      userId,
      isAdmin: userId === this.adminUserId,
    });
  }

  /** The install as Kommo makes it when the admin clicks Install: a call to the Redirect URI. */
  async install(): Promise<void> {
    const query = new URLSearchParams({ code: this.kommo.issueCode(this.accountId), referer: `${this.subdomain}.kommo.com`, from_widget: "1" });
    const answer = await fetch(`${this.app.url}/api/kommo/oauth/callback?${query}`);
    if (answer.status !== 200 && answer.status !== 202) throw new Error(`the install answered ${answer.status}: ${(await answer.text()).slice(0, 300)}`);
  }

  // --- the board ---------------------------------------------------------------------------

  private async deliver(setting: string, body: string): Promise<void> {
    for (const webhook of this.kommoAccount.webhooks) {
      if (webhook.disabled || !webhook.settings.includes(setting)) continue;
      await fireWebhook(webhook.destination, body);
    }
  }

  private lead(leadId: number) {
    const lead = this.kommoAccount.leads.get(leadId);
    if (!lead || lead.is_deleted) throw new SandboxInputError(`no deal ${leadId}`);
    return lead;
  }

  async moveDeal(leadId: number, statusId: number): Promise<void> {
    const lead = this.lead(leadId);
    const pipeline = this.kommoAccount.pipelines.get(lead.pipeline_id)!;
    if (!pipeline.statuses.some((status) => status.id === statusId)) throw new SandboxInputError(`no stage ${statusId}`);
    if (lead.status_id === statusId) return;
    const oldStatusId = lead.status_id;
    const lossReason = statusId === LOST ? [...this.kommoAccount.lossReasons.values()][0]?.id : undefined;
    this.kommo.updateLead(this.accountId, leadId, { status_id: statusId, ...(lossReason ? { loss_reason_id: lossReason } : {}) });
    await this.deliver("status_lead", this.kommo.leadWebhookBody(this.accountId, leadId, "status", { oldStatusId }));
    const action = this.dpActions.get(statusId);
    if (action) {
      const hook = this.kommo.digitalPipelineHookBody(this.accountId, leadId, { settings: action, encoding: "json" });
      await fireWebhook(`${this.app.url}/api/kommo/dp`, hook.body, hook.contentType);
    }
  }

  async setAmount(leadId: number, price: number): Promise<void> {
    this.lead(leadId);
    this.kommo.updateLead(this.accountId, leadId, { price });
    await this.deliver("update_lead", this.kommo.leadWebhookBody(this.accountId, leadId, "update"));
  }

  async editContact(leadId: number, input: { firstName: string; lastName: string; email: string }): Promise<void> {
    const lead = this.lead(leadId);
    const contactId = lead.contacts.find((link) => link.is_main)?.id;
    const contact = contactId === undefined ? undefined : this.kommoAccount.contacts.get(contactId);
    if (!contact) throw new SandboxInputError("the deal has no contact");
    contact.first_name = input.firstName;
    contact.last_name = input.lastName;
    contact.name = `${input.firstName} ${input.lastName}`.trim();
    const others = (contact.custom_fields_values ?? []).filter((field) => field.field_id !== EMAIL_FIELD_ID);
    const email = input.email ? [{ field_id: EMAIL_FIELD_ID, field_name: "Email", field_code: "EMAIL", field_type: "multitext", values: [{ value: input.email, enum_id: 1, enum_code: "WORK" }] }] : [];
    contact.custom_fields_values = [...others, ...email];
    contact.updated_at = Math.max(contact.updated_at + 1, this.kommo.store.nowSeconds());
    await this.deliver("update_contact", this.kommo.contactWebhookBody(this.accountId, contact.id));
  }

  async addDeal(input: { name: string; price: number; statusId: number; firstName: string; lastName: string; email: string }): Promise<number> {
    const contact = this.kommo.seedContact(this.accountId, { firstName: input.firstName, lastName: input.lastName, emails: input.email ? [input.email] : [] });
    const lead = this.kommo.seedLead(this.accountId, { name: input.name, price: input.price, pipelineId: this.pipelineId, statusId: input.statusId, contactIds: [contact.id] });
    await this.deliver("add_lead", this.kommo.leadWebhookBody(this.accountId, lead.id, "add"));
    return lead.id;
  }

  saveDigitalPipelineAction(action: DigitalPipelineAction): void {
    if (!this.kommoAccount.pipelines.get(this.pipelineId)!.statuses.some((status) => status.id === action.statusId)) throw new SandboxInputError(`no stage ${action.statusId}`);
    this.dpActions.set(action.statusId, action.settings);
  }

  // --- Klaviyo -----------------------------------------------------------------------------

  /** The contact opens or clicks an email, unsubscribes or bounces: Klaviyo records it and tells the app. */
  async emailActivity(email: string, action: EmailAction): Promise<void> {
    if (!this.klaviyoAccount.profileByEmail(email)) throw new SandboxInputError(`Klaviyo has no profile for ${email}`);
    const properties = action === "click" ? { ...SAMPLE_EMAIL, URL: "https://northwind.example/proposal" } : action === "unsubscribe" ? {} : SAMPLE_EMAIL;
    const events = [];
    // An open or a click implies the email was received first, as in Klaviyo.
    if (action === "open" || action === "click") events.push(this.klaviyoAccount.seedEvent({ metric: "Received Email", email, datetime: new Date(Date.now() - 60_000), properties: SAMPLE_EMAIL }));
    if (action === "unsubscribe") {
      // Consent and a global suppression change with the event, as when a person uses the link.
      const profile = unsubscribeAsRecipient(this.klaviyoAccount, email);
      events.push(this.klaviyoAccount.events.filter((event) => event.profileId === profile.id).at(-1)!);
    } else {
      if (action === "bounce") {
        const state = emailMarketing(this.klaviyoAccount.profileByEmail(email)!);
        if (!state.suppression.some((entry) => entry.reason === "HARD_BOUNCE")) state.suppression.push({ reason: "HARD_BOUNCE", timestamp: new Date().toISOString() });
      }
      events.push(this.klaviyoAccount.seedEvent({ metric: EMAIL_METRICS[action], email, properties }));
    }
    const hook = this.app.klaviyoHook(this.accountRowId);
    const delivery = systemWebhookDelivery(this.klaviyoAccount, events, { secret: hook.secretKey, base: this.klaviyo.url });
    const answer = await fetch(hook.endpointUrl, { method: "POST", headers: delivery.headers, body: delivery.body });
    if (!answer.ok) throw new Error(`the app refused Klaviyo's webhook: ${answer.status} ${(await answer.text()).slice(0, 200)}`);
  }

  // --- what the page shows -----------------------------------------------------------------

  state() {
    const account = this.kommoAccount;
    const pipeline = account.pipelines.get(this.pipelineId)!;
    const contactOf = (contactId: number | undefined) => (contactId === undefined ? undefined : account.contacts.get(contactId));
    const emailOf = (contactId: number | undefined) =>
      (contactOf(contactId)?.custom_fields_values ?? []).find((field) => field.field_id === EMAIL_FIELD_ID)?.values[0]?.value ?? "";
    const deals = [...account.leads.values()]
      .filter((lead) => !lead.is_deleted && lead.pipeline_id === this.pipelineId)
      .map((lead) => {
        const contactId = lead.contacts.find((link) => link.is_main)?.id;
        const contact = contactOf(contactId);
        return {
          id: lead.id,
          name: lead.name,
          price: lead.price,
          statusId: lead.status_id,
          contact: contact ? { firstName: contact.first_name, lastName: contact.last_name, name: contact.name, email: String(emailOf(contactId)) } : null,
          notes: account.notes.filter((note) => note.entity_id === lead.id).map((note) => ({ id: note.id, text: String(note.params.text ?? ""), createdAt: note.created_at })),
        };
      });
    const klaviyo = this.klaviyoAccount;
    const metricName = (metricId: string) => klaviyo.metrics.get(metricId)?.name ?? metricId;
    const profiles = [...klaviyo.profiles.values()].map((profile) => {
      const events = klaviyo.events.filter((event) => event.profileId === profile.id).sort((a, b) => b.timestamp - a.timestamp);
        return {
        id: profile.id,
        email: profile.email,
        name: [profile.first_name, profile.last_name].filter(Boolean).join(" "),
        phone: profile.phone_number,
        properties: profile.properties,
        lists: [...klaviyo.lists.values()].filter((list) => list.members.has(profile.id)).map((list) => list.name),
        consent: consentOf(profile),
        events: events.map((event) => ({ id: event.id, metric: metricName(event.metricId), datetime: event.datetime, properties: event.properties, backfill: event.backfill })),
        updated: profile.updated,
      };
    });
    profiles.sort((a, b) => b.updated.localeCompare(a.updated));
    return {
      stages: pipeline.statuses.filter((status) => status.type === 0).map((status) => ({ id: status.id, name: status.id === WON ? "Won" : status.id === LOST ? "Lost" : status.name })),
      deals,
      dpActions: [...this.dpActions.entries()].map(([statusId, settings]) => ({ statusId, eventName: settings.event_name ?? "" })),
      klaviyo: { organization: klaviyo.organizationName, profiles },
    };
  }
}

/** A request of the page that names something that does not exist: 400, not 500. */
export class SandboxInputError extends Error {}
