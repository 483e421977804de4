// Setting up an installed account the way its admin does (Klaviyo key and mappings through the
// widget settings API), calling widget routes, and deals as a finished sync leaves them.
import { expect } from "vitest";
import { PUT as putSettings } from "@/app/api/widget/settings/route";
import { db } from "@/lib/db/client";
import { resetEnvForTests } from "@/lib/platform/env";
import { widgetToken } from "../helpers/widget-token";
import { startKlaviyoSimulator, type KlaviyoSimulator, type KlaviyoSimulatorOptions } from "../simulators/klaviyo";
import type { KommoSimulator } from "../simulators/kommo";
import { closeConnections, startKommo, type InstalledAccount } from "./kommo-fixtures";

export type RouteHandler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

/** Both simulators, each wired in as the API base URL of this process's clients. */
export async function startSimulators(klaviyoOptions: KlaviyoSimulatorOptions = {}): Promise<{ kommo: KommoSimulator; klaviyo: KlaviyoSimulator }> {
  const kommo = await startKommo();
  const klaviyo = await startKlaviyoSimulator(klaviyoOptions);
  process.env.KLAVIYO_API_BASE_URL = klaviyo.url;
  resetEnvForTests();
  return { kommo, klaviyo };
}

/** Stop both simulators and close what the app's modules opened in this process. */
export async function stopSimulators(simulators: { kommo?: KommoSimulator; klaviyo?: KlaviyoSimulator }): Promise<void> {
  await simulators.klaviyo?.close();
  await closeConnections(simulators.kommo);
}

/** Call a widget route as the account's admin from its Kommo page. */
export async function callWidget(
  kommo: KommoSimulator,
  installed: InstalledAccount,
  handler: RouteHandler,
  method: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const admin = kommo.account(installed.kommoAccountId).users[0]!;
  const token = await widgetToken({ accountId: installed.kommoAccountId, userId: admin.id, subdomain: installed.subdomain, isAdmin: true });
  const response = await handler(
    new Request("http://127.0.0.1/api/widget/x", {
      method,
      headers: { "Content-Type": "application/json", "X-Auth-Token": token, Origin: `https://${installed.subdomain}.kommo.com` },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    }),
    { params: Promise.resolve({}) },
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Save a Klaviyo key (checked live against the simulator) and settings, as the admin does. */
export async function connectKlaviyo(kommo: KommoSimulator, installed: InstalledAccount, apiKey: string, settings: Record<string, unknown> = {}) {
  const answer = await callWidget(kommo, installed, putSettings as RouteHandler, "PUT", { klaviyoApiKey: apiKey, ...settings });
  expect(answer.status).toBe(200);
}

/** A deal as a finished sync leaves it: its row, and its contact's profile link. */
export async function syncedDeal(input: {
  accountId: string;
  leadId: number;
  contactId: number;
  email: string;
  profileId: string;
  pipelineId: number;
  statusId: number;
  closedAt?: Date;
}) {
  await db().deal.create({
    data: {
      accountId: input.accountId,
      leadId: input.leadId,
      pipelineId: input.pipelineId,
      statusId: input.statusId,
      mainContactId: input.contactId,
      email: input.email,
      klaviyoProfileId: input.profileId,
      closedAt: input.closedAt ?? null,
      lastSyncedAt: input.closedAt ?? new Date(),
      lastSyncStatus: "ok",
    },
  });
  await db().klaviyoProfileLink.upsert({
    where: { accountId_contactId: { accountId: input.accountId, contactId: input.contactId } },
    create: { accountId: input.accountId, contactId: input.contactId, email: input.email, klaviyoProfileId: input.profileId },
    update: { email: input.email, klaviyoProfileId: input.profileId },
  });
}
