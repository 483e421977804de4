// The dashboard's edges that need no database: action forms, log cursors, the flash codes a URL may
// carry, the metrics token check, cookies and form origins, who counts as an operator, the widget's
// entry tickets, and how times and operations are worded.
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { failureSelectionFrom, returnPath, utcFromLocalInput } from "@/lib/features/dashboard/action-input";
import { cookieOptions, postedFromOurPages, readCookie, sessionCookieName, signInCookieName } from "@/lib/features/dashboard/auth/cookies";
import { entryLink, verifyEntryTicket } from "@/lib/features/dashboard/auth/entry";
import { safeReturnPath } from "@/lib/features/dashboard/auth/sign-in-policy";
import { viewerFromClaims } from "@/lib/features/dashboard/auth/viewer";
import { flashFromQuery } from "@/lib/features/dashboard/flash";
import { describeOperations, describeTrigger, formatPercent, formatUtc, relativeTime } from "@/lib/features/dashboard/format";
import { bearerMatches } from "@/lib/features/dashboard/metrics-auth";
import { decodeCursor, encodeCursor } from "@/lib/features/dashboard/sync-log";
import { getEnv, parseEnv } from "@/lib/platform/env";

const ACCOUNT = "7b0d6f2e-1c3a-4e5b-9f8d-0a1b2c3d4e5f";
const ROW = "1f2e3d4c-5b6a-4789-8abc-def012345678";

const form = (entries: [string, string][]) => {
  const data = new FormData();
  for (const [name, value] of entries) data.append(name, value);
  return data;
};

describe("action forms", () => {
  it("read which failures are meant: the pressed row, the ticked rows, since a time, or all", () => {
    expect(failureSelectionFrom(form([["one", ROW], ["ids", "ignored"]]))).toEqual({ kind: "ids", ids: [ROW] });
    expect(failureSelectionFrom(form([["ids", ROW], ["ids", ROW.replace("1f", "2f")]]))).toEqual({ kind: "ids", ids: [ROW, ROW.replace("1f", "2f")] });
    expect(failureSelectionFrom(form([["scope", "since"], ["since", "2026-03-01T10:30"]]))).toEqual({ kind: "since", since: new Date("2026-03-01T10:30:00Z") });
    expect(failureSelectionFrom(form([["scope", "all"]]))).toEqual({ kind: "all" });
  });

  it("refuse an empty or malformed selection", () => {
    expect(failureSelectionFrom(form([]))).toBeNull();
    expect(failureSelectionFrom(form([["ids", "1 OR 1=1"]]))).toBeNull();
    expect(failureSelectionFrom(form([["scope", "since"], ["since", "yesterday"]]))).toBeNull();
    expect(utcFromLocalInput("2026-02-31T10:00")).toBeNull();
    expect(utcFromLocalInput("2026-03-01")).toBeNull();
  });

  it("return only to a page of the same account", () => {
    expect(returnPath(form([["returnTo", `/dashboard/accounts/${ACCOUNT}/failures`]]), ACCOUNT)).toBe(`/dashboard/accounts/${ACCOUNT}/failures`);
    for (const target of ["https://evil.example/", "//evil.example", `/dashboard/accounts/${ROW}`, `/dashboard/accounts/${ACCOUNT}/../../x`, `/dashboard/accounts/${ACCOUNT}?x=1`]) {
      expect(returnPath(form([["returnTo", target]]), ACCOUNT)).toBe(`/dashboard/accounts/${ACCOUNT}`);
    }
  });
});

describe("log cursors", () => {
  it("round-trip, and anything else is no cursor", () => {
    const cursor = { createdAt: new Date("2026-03-01T10:00:00.123Z"), id: ROW };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(decodeCursor("not a cursor")).toBeNull();
    expect(decodeCursor(Buffer.from(JSON.stringify({ t: "2026-03-01T10:00:00Z", id: "x" })).toString("base64url"))).toBeNull();
  });
});

describe("flash messages", () => {
  it("come from known codes only, whatever else the URL says", () => {
    expect(flashFromQuery({ done: "replayed", n: "3" })).toMatchObject({ tone: "success", text: expect.stringMatching(/^3 deals queued again/) });
    expect(flashFromQuery({ done: "replayed", n: "1" })!.text).toMatch(/^1 deal queued again/);
    expect(flashFromQuery({ done: "<script>alert(1)</script>" })).toBeNull();
    expect(flashFromQuery({ done: "replayed", n: "-4" })).toBeNull();
    expect(flashFromQuery({})).toBeNull();
  });
});

describe("the metrics token", () => {
  it("must be sent exactly, as a bearer token", () => {
    const token = "0123456789abcdef0123456789";
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`Bearer ${token}0`, token)).toBe(false);
    expect(bearerMatches(`Bearer ${token.slice(1)}`, token)).toBe(false);
    expect(bearerMatches(token, token)).toBe(false);
    expect(bearerMatches(null, token)).toBe(false);
  });
});

describe("cookies", () => {
  it("carry the __Host- prefix and Secure over HTTPS, are HttpOnly and SameSite=Lax, and are read by exact name", () => {
    expect(sessionCookieName({ APP_URL: "https://sync.example.com" })).toBe("__Host-kss-session");
    expect(signInCookieName({ APP_URL: "https://sync.example.com" })).toBe("__Host-kss-sign-in");
    expect(sessionCookieName({ APP_URL: "http://127.0.0.1:3000" })).toBe("kss-session");
    expect(signInCookieName({ APP_URL: "http://127.0.0.1:3000" })).toBe("kss-sign-in");
    expect(cookieOptions({ APP_URL: "https://sync.example.com" }, 60)).toEqual({ httpOnly: true, sameSite: "lax", path: "/", secure: true, maxAge: 60 });
    expect(cookieOptions({ APP_URL: "http://127.0.0.1:3000" }, 60).secure).toBe(false);
    expect(readCookie("a=1; kss-session=abc%3D; b=2", "kss-session")).toBe("abc=");
    // Look-alike names (a prefix, chunks as other libraries write them) are other cookies.
    expect(readCookie("xkss-session=1; kss-session.0=abc; kss-session.1=def", "kss-session")).toBeUndefined();
    expect(readCookie("kss-session=%E0%A4%A", "kss-session")).toBeUndefined();
    expect(readCookie("other=1", "kss-session")).toBeUndefined();
    expect(readCookie(null, "kss-session")).toBeUndefined();
  });

  it("sign-in and sign-out forms count only when posted from this app's pages", () => {
    const env = { APP_URL: "https://sync.example.com" };
    const post = (origin?: string) => new Request("https://sync.example.com/api/auth/sign-out", { method: "POST", headers: origin ? { Origin: origin } : {} });
    expect(postedFromOurPages(post("https://sync.example.com"), env)).toBe(true);
    expect(postedFromOurPages(post("https://evil.example"), env)).toBe(false);
    expect(postedFromOurPages(post("https://sync.example.com.evil.example"), env)).toBe(false);
    expect(postedFromOurPages(post("null"), env)).toBe(false);
  });

  it("return after signing in to a page of this dashboard only", () => {
    expect(safeReturnPath("/dashboard/accounts/7b0d6f2e-1c3a-4e5b-9f8d-0a1b2c3d4e5f/log")).toBe("/dashboard/accounts/7b0d6f2e-1c3a-4e5b-9f8d-0a1b2c3d4e5f/log");
    for (const target of ["https://evil.example", "//evil.example", "/dashboard/../api/metrics", "/dashboard//evil.example", "/dashboard/sign-in", "/dashboardx", "/api/dashboard/accounts", 42, null]) {
      expect(safeReturnPath(target)).toBe("/dashboard");
    }
  });
});

describe("operators", () => {
  const env = parseEnv({ ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"), AUTH_SECRET: "y".repeat(32), OPERATOR_KOMMO_USERS: " 29001234:8812345 ,31:2" });
  const claims = { kommoAccountId: 29_001_234, kommoUserId: 8_812_345, isAdmin: false, email: "ops@example.com", via: "kommo" as const };

  it("are the listed Kommo identities (account id and user id), whatever their e-mail", () => {
    expect(viewerFromClaims(claims, env).operator).toBe(true);
    expect(viewerFromClaims({ ...claims, email: null }, env).operator).toBe(true);
    expect(viewerFromClaims({ ...claims, kommoAccountId: 31 }, env).operator).toBe(false);
    expect(viewerFromClaims({ ...claims, kommoUserId: 2 }, env).operator).toBe(false);
    expect(viewerFromClaims({ ...claims, kommoAccountId: 31, kommoUserId: 2 }, env).operator).toBe(true);
  });

  it("are never recognised by an e-mail", () => {
    expect(viewerFromClaims({ ...claims, kommoAccountId: 5, kommoUserId: 6, email: "ops@example.com" }, env).operator).toBe(false);
  });

  it("never come in through the widget's door", () => {
    expect(viewerFromClaims({ ...claims, via: "widget" }, env).operator).toBe(false);
  });
});

describe("entry tickets of the widget", () => {
  it("name the admin and account, and are refused when expired, forged or for another purpose", async () => {
    const env = getEnv();
    const rightsCheckedAt = new Date(Math.floor(Date.now() / 1000 - 600) * 1000);
    const link = await entryLink({ kommoAccountId: 31, kommoUserId: 7, rightsCheckedAt }, env);
    const ticket = new URL(link.url).searchParams.get("ticket")!;
    expect(link.url.startsWith(`${env.APP_URL}/dashboard/enter?ticket=`)).toBe(true);
    expect(await verifyEntryTicket(ticket, env)).toEqual({
      ok: true,
      ticketId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      claims: { kommoAccountId: 31, kommoUserId: 7, isAdmin: true, via: "widget" },
      rightsCheckedAt,
    });
    const second = await verifyEntryTicket(new URL((await entryLink({ kommoAccountId: 31, kommoUserId: 7, rightsCheckedAt }, env)).url).searchParams.get("ticket"), env);
    expect(second.ok && second.ticketId).not.toBe((await verifyEntryTicket(ticket, env) as { ticketId: string }).ticketId);

    const old = await entryLink({ kommoAccountId: 31, kommoUserId: 7, rightsCheckedAt }, env, new Date(Date.now() - 61_000));
    expect(await verifyEntryTicket(new URL(old.url).searchParams.get("ticket"), env)).toEqual({ ok: false, reason: "expired" });
    expect(await verifyEntryTicket(`${ticket.slice(0, -4)}AAAA`, env)).toEqual({ ok: false, reason: "invalid" });
    // Signed with AUTH_SECRET itself rather than the derived key: not a ticket of ours.
    const raw = await new SignJWT({ account_id: 31, user_id: 7, rights_at: 1 })
      .setProtectedHeader({ alg: "HS256" })
      .setAudience("klaviyo-sync/dashboard-entry")
      .setIssuer(env.APP_URL)
      .setJti("00000000-0000-4000-8000-000000000000")
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode(env.AUTH_SECRET));
    expect(await verifyEntryTicket(raw, env)).toEqual({ ok: false, reason: "invalid" });
    expect(await verifyEntryTicket(null, env)).toEqual({ ok: false, reason: "invalid" });
  });
});

describe("wording", () => {
  it("shows times in UTC and relative to now", () => {
    expect(formatUtc(new Date("2026-11-26T04:48:12Z"))).toBe("26 Nov 2026, 04:48:12 UTC");
    const now = new Date("2026-11-26T12:00:00Z");
    expect(relativeTime(new Date("2026-11-26T11:55:00Z"), now)).toBe("5 min ago");
    expect(relativeTime(new Date("2026-11-27T12:00:00Z"), now)).toBe("in 1 day");
    expect(relativeTime(new Date("2026-11-26T11:59:50Z"), now)).toBe("just now");
  });

  it("words triggers, shares and operations, with list names where known", () => {
    expect(describeTrigger("status_lead,update_lead")).toBe("Stage changed, Deal updated");
    expect(formatPercent(0.0004)).toBe("<0.1%");
    expect(formatPercent(0.5)).toBe("50%");
    const operations = [
      { type: "upsertProfile", target: "profile" },
      { type: "addToList", target: "Ls1" },
      { type: "removeFromList", target: "Ls2" },
      { type: "createEvent", target: "Deal Won" },
    ];
    expect(describeOperations(operations, new Map([["Ls1", "Customers"]]))).toEqual(["Profile updated", "Added to list Customers", "Removed from list Ls2", "Event “Deal Won” sent"]);
    expect(describeOperations("garbage")).toEqual([]);
  });
});
