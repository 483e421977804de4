// The words of an activity note and the deals it goes on.
import { describe, expect, it } from "vitest";
import { noteTargets } from "@/lib/features/activity/notes";
import { activityMetricNamed, activityNoteText, campaignOf, subjectOf } from "@/lib/features/activity/note-text";

describe("activity note text", () => {
  it("names what happened and the email's subject", () => {
    expect(activityNoteText({ metric: "Opened Email", subject: "Welcome to ACME", campaign: null })).toBe('Opened email "Welcome to ACME"');
    expect(activityNoteText({ metric: "Received Email", subject: "Welcome to ACME", campaign: "Onboarding" })).toBe('Received email "Welcome to ACME" (campaign "Onboarding")');
    expect(activityNoteText({ metric: "Clicked Email", subject: "Spring offer", campaign: "Spring offer" })).toBe('Clicked a link in email "Spring offer"');
    expect(activityNoteText({ metric: "Bounced Email", subject: "Your invoice", campaign: null })).toBe('Email "Your invoice" bounced');
    expect(activityNoteText({ metric: "Unsubscribed", subject: null, campaign: null })).toBe("Unsubscribed from email marketing");
    expect(activityNoteText({ metric: "Unsubscribed", subject: "Last chance", campaign: null })).toBe('Unsubscribed from email marketing after email "Last chance"');
  });

  it("says a spam complaint in each language, with the campaign after the email", () => {
    expect(activityNoteText({ metric: "Marked Email as Spam", subject: "Spring offer", campaign: null })).toBe('Marked email "Spring offer" as spam');
    expect(activityNoteText({ metric: "Marked Email as Spam", subject: null, campaign: "Newsletter" })).toBe('Marked an email (campaign "Newsletter") as spam');
    expect(activityNoteText({ metric: "Marked Email as Spam", subject: "Oferta", campaign: "Primavera", language: "es" })).toBe('Marcó el correo "Oferta" (campaña "Primavera") como spam');
    expect(activityNoteText({ metric: "Marked Email as Spam", subject: null, campaign: null, language: "pt_BR" })).toBe("Marcou um e-mail como spam");
    expect(activityMetricNamed("marked email as spam")).toBe("Marked Email as Spam");
  });

  it("still reads well without a subject", () => {
    expect(activityNoteText({ metric: "Opened Email", subject: null, campaign: null })).toBe("Opened an email");
    expect(activityNoteText({ metric: "Bounced Email", subject: null, campaign: "Newsletter" })).toBe('An email (campaign "Newsletter") bounced');
  });

  it("speaks the account's language (es, pt), English otherwise", () => {
    expect(activityNoteText({ metric: "Opened Email", subject: "Bienvenido", campaign: "Alta", language: "es" })).toBe('Abrió el correo "Bienvenido" (campaña "Alta")');
    expect(activityNoteText({ metric: "Clicked Email", subject: null, campaign: null, language: "es" })).toBe("Hizo clic en un enlace de un correo");
    expect(activityNoteText({ metric: "Bounced Email", subject: "Factura", campaign: null, language: "es" })).toBe('El correo "Factura" rebotó');
    expect(activityNoteText({ metric: "Received Email", subject: "Olá", campaign: null, language: "pt_BR" })).toBe('Recebeu o e-mail "Olá"');
    expect(activityNoteText({ metric: "Unsubscribed", subject: "Oferta", campaign: null, language: "pt" })).toBe('Cancelou a inscrição no e-mail marketing após o e-mail "Oferta"');
    expect(activityNoteText({ metric: "Opened Email", subject: "Hi", campaign: null, language: "tr" })).toBe('Opened email "Hi"');
  });

  it("gives the time in the account's time zone, or says UTC when it has none", () => {
    const at = new Date("2026-12-02T18:05:00Z");
    expect(activityNoteText({ metric: "Opened Email", subject: "Hi", campaign: null, occurredAt: at, timeZone: "America/Mexico_City", language: "es" })).toMatch(
      /^Abrió el correo "Hi" — 2 dic 2026, 12:05$/,
    );
    expect(activityNoteText({ metric: "Opened Email", subject: "Hi", campaign: null, occurredAt: at, timeZone: "Europe/Lisbon", language: "pt" })).toMatch(/18:05$/);
    expect(activityNoteText({ metric: "Opened Email", subject: "Hi", campaign: null, occurredAt: at, timeZone: null })).toMatch(/6:05\sPM UTC$/);
    expect(activityNoteText({ metric: "Opened Email", subject: "Hi", campaign: null, occurredAt: at, timeZone: "Not/AZone" })).toMatch(/UTC$/);
  });

  it("reads only short strings from Klaviyo's event properties", () => {
    expect(subjectOf({ Subject: "  Hello\n  world " })).toBe("Hello world");
    expect(subjectOf({ Subject: 42 })).toBeNull();
    expect(subjectOf({})).toBeNull();
    expect(subjectOf({ Subject: "x".repeat(500) })!.length).toBe(200);
    expect(campaignOf({ "Campaign Name": "Onboarding" })).toBe("Onboarding");
  });

  it("matches Klaviyo's metric names whatever their case, and no others", () => {
    expect(activityMetricNamed("opened email")).toBe("Opened Email");
    expect(activityMetricNamed("UNSUBSCRIBED")).toBe("Unsubscribed");
    expect(activityMetricNamed("Unsubscribed from List")).toBeNull();
    expect(activityMetricNamed(null)).toBeNull();
  });
});

describe("which deals a note goes on", () => {
  const at = (iso: string) => new Date(iso);
  it("every open deal of the contact", () => {
    expect(
      noteTargets([
        { leadId: 3, statusId: 55, closedAt: null },
        { leadId: 1, statusId: 142, closedAt: at("2026-05-01") },
        { leadId: 2, statusId: 56, closedAt: null },
      ]),
    ).toEqual([2, 3]);
  });

  it("when none is open, the one closed last (won or lost)", () => {
    expect(
      noteTargets([
        { leadId: 1, statusId: 142, closedAt: at("2026-05-01") },
        { leadId: 2, statusId: 143, closedAt: at("2026-06-01") },
        { leadId: 3, statusId: 142, closedAt: at("2026-04-01") },
      ]),
    ).toEqual([2]);
  });

  it("nowhere when the contact has no deal left", () => {
    expect(noteTargets([])).toEqual([]);
    expect(noteTargets([{ leadId: 1, statusId: null, closedAt: null }])).toEqual([]);
  });
});
