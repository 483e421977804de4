// What Klaviyo reports about a contact's email consent, recorded (lib/features/consent/record-status.ts):
// a newer report replaces an older one, but Klaviyo stamps its events to the whole second while a
// profile read is stamped to the millisecond, so an opt-out event of the same second as a read must
// still count.
import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { recordStatus } from "@/lib/features/consent/record-status";
import type { ConsentSettings } from "@/lib/features/settings/settings";
import { insertBareAccount } from "./account-rows";

afterAll(async () => {
  await db().$disconnect();
});

const newAccount = async () => (await insertBareAccount()).id;

const consent: ConsentSettings = { statusField: true, optInFieldId: 501, optInListId: "LsNews" };
const CONTACT = 9001;

async function contactRow(accountId: string) {
  return db().consentContact.findUniqueOrThrow({ where: { accountId_contactId: { accountId, contactId: CONTACT } } });
}

describe("recording Klaviyo's consent reports", () => {
  it("takes an unsubscribe stamped in the same second as a later profile read, and turns the box off", async () => {
    const accountId = await newAccount();
    await db().consentContact.create({ data: { accountId, contactId: CONTACT, email: "ada@example.com", optInOn: true, subscribedAt: new Date("2026-12-03T11:50:00.200Z") } });
    await recordStatus(accountId, consent, { contactIds: [CONTACT], status: "subscribed", canReceiveEmail: true, at: new Date("2026-12-03T12:00:00.700Z"), source: "profile" });
    expect(await contactRow(accountId)).toMatchObject({ status: "subscribed", optInOn: true });

    await recordStatus(accountId, consent, { contactIds: [CONTACT], status: "unsubscribed", canReceiveEmail: false, at: new Date("2026-12-03T12:00:00.000Z"), source: "event" });
    expect(await contactRow(accountId)).toMatchObject({ status: "unsubscribed", canReceiveEmail: false, optInOn: false, optInOffPending: true });
  });

  it("still ignores an opt-out event from a second before the report held", async () => {
    const accountId = await newAccount();
    await db().consentContact.create({ data: { accountId, contactId: CONTACT, email: "bob@example.com", optInOn: true } });
    await recordStatus(accountId, consent, { contactIds: [CONTACT], status: "subscribed", canReceiveEmail: true, at: new Date("2026-12-03T12:00:00.700Z"), source: "profile" });
    await recordStatus(accountId, consent, { contactIds: [CONTACT], status: "unsubscribed", canReceiveEmail: false, at: new Date("2026-12-03T11:59:59.000Z"), source: "event" });
    expect(await contactRow(accountId)).toMatchObject({ status: "subscribed", canReceiveEmail: true, optInOn: true, optInOffPending: false });
  });
});
