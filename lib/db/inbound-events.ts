// InboundEvent: every change that came in (Kommo webhook, reconciliation, "Sync now"), kept as
// pending until a sync of its lead has applied it. Every statement on the table is in this module.
import { db, type InboundSource, type Prisma } from "./client";
import { idNumber } from "./kommo-ids";
import { sqlPool, type SqlClient } from "./sql-pool";

type Tx = Prisma.TransactionClient;

export type NewInboundEvent = {
  /** add_lead | update_lead | status_lead | delete_lead | update_contact | delete_contact | sync_now ... */
  kind: string;
  leadId: number | null;
  contactId: number | null;
  /** Kommo's change time of the entity (ISO 8601), when the delivery says it. */
  changedAt: string | null;
  payload: Record<string, unknown>;
  /** The same delivery twice has the same key, and is one row. */
  dedupeKey: string;
  /** Recorded as already processed: there is nothing to sync for it (e.g. a contact with no known deal). */
  processed?: boolean;
};

// Raw SQL: one statement per delivery that inserts only the rows new to us and says which (Prisma's
// createMany cannot), on the caller's connection, whose transaction also holds their sync jobs.
const INSERT_EVENTS = `
  INSERT INTO "InboundEvent" ("id", "accountId", "source", "kind", "leadId", "contactId", "changedAt", "payload", "dedupeKey", "receivedAt", "processedAt")
  SELECT gen_random_uuid(), $1::uuid, $2::"InboundSource", e.kind, e."leadId", e."contactId",
         e."changedAt", e.payload, e."dedupeKey", now(), CASE WHEN e.processed THEN now() END
  FROM jsonb_to_recordset($3::jsonb) AS e(kind text, "leadId" bigint, "contactId" bigint, "changedAt" timestamptz, payload jsonb, "dedupeKey" text, processed boolean)
  ON CONFLICT ("accountId", "dedupeKey") DO NOTHING
  RETURNING "id", "leadId", "contactId"`;

/**
 * Record changes; a change recorded before (same dedupeKey) is left as it is. Returns the rows that
 * are new. `client`: the connection of the caller's transaction (lib/db/sql-pool.ts inTransaction).
 */
export async function insertInboundEvents(
  client: SqlClient,
  accountId: string,
  source: InboundSource,
  events: NewInboundEvent[],
): Promise<{ id: string; leadId: number | null; contactId: number | null }[]> {
  if (events.length === 0) return [];
  const { rows } = await client.query<{ id: string; leadId: number | null; contactId: number | null }>(INSERT_EVENTS, [accountId, source, JSON.stringify(events)]);
  return rows;
}

export type PendingEvent = { id: string; kind: string; changedAt: Date | null; receivedAt: Date; payload: Prisma.JsonValue };

/**
 * The changes of a lead that no sync has applied yet, in the order they happened. Raw SQL on the
 * small pool: the first read of every sync.
 */
export async function pendingEventsOfLead(accountId: string, leadId: number): Promise<PendingEvent[]> {
  const { rows } = await sqlPool().query<PendingEvent>(
    `SELECT "id", "kind", "changedAt", "receivedAt", "payload" FROM "InboundEvent"
     WHERE "accountId" = $1::uuid AND "leadId" = $2 AND "processedAt" IS NULL
     ORDER BY "changedAt" ASC NULLS LAST, "receivedAt" ASC`,
    [accountId, leadId],
  );
  return rows;
}

/** Mark changes as applied (or as needing nothing more). */
export async function markEventsProcessed(ids: string[], at: Date, tx: Tx = db()): Promise<void> {
  if (ids.length === 0) return;
  await tx.inboundEvent.updateMany({ where: { id: { in: ids } }, data: { processedAt: at } });
}

/** Leads with changes waiting for a sync (e.g. recorded while the account needed re-authorization). */
export async function leadsWithPendingEvents(accountId: string): Promise<number[]> {
  const rows = await db().inboundEvent.findMany({
    where: { accountId, processedAt: null, leadId: { not: null } },
    distinct: ["leadId"],
    select: { leadId: true },
  });
  return rows.map((row) => idNumber(row.leadId!));
}

/** How many deals have changes waiting for a sync. */
export async function countLeadsWithPendingEvents(accountId: string): Promise<number> {
  // Raw SQL: Prisma has no count(DISTINCT); counting in the database reads no rows into the app.
  const rows = await db().$queryRaw<{ deals: number }[]>`
    SELECT count(DISTINCT "leadId")::int AS deals FROM "InboundEvent"
    WHERE "accountId" = ${accountId}::uuid AND "processedAt" IS NULL AND "leadId" IS NOT NULL`;
  return rows[0]?.deals ?? 0;
}

/** Whether a change of the lead waits for a sync; with `receivedAfter`, one that came in after then. */
export async function hasPendingEvent(accountId: string, leadId: number, receivedAfter?: Date): Promise<boolean> {
  const event = await db().inboundEvent.findFirst({
    where: { accountId, leadId, processedAt: null, ...(receivedAfter && { receivedAt: { gt: receivedAfter } }) },
    select: { id: true },
  });
  return event !== null;
}

export type RecordedChange = { leadId: number; kind: string; changedAt: Date | null };

/** Every change recorded for these leads, processed or not (what reconciliation compares with Kommo's feed). */
export async function recordedChanges(accountId: string, leadIds: number[]): Promise<RecordedChange[]> {
  if (leadIds.length === 0) return [];
  const rows = await db().inboundEvent.findMany({
    where: { accountId, leadId: { in: leadIds } },
    select: { leadId: true, kind: true, changedAt: true },
  });
  return rows.map((row) => ({ leadId: idNumber(row.leadId!), kind: row.kind, changedAt: row.changedAt }));
}

/** The leads among these with any change recorded (a webhook or reconciliation saw them). */
export async function leadsWithRecordedEvents(accountId: string, leadIds: number[]): Promise<number[]> {
  if (leadIds.length === 0) return [];
  const rows = await db().inboundEvent.findMany({
    where: { accountId, leadId: { in: leadIds } },
    distinct: ["leadId"],
    select: { leadId: true },
  });
  return rows.map((row) => idNumber(row.leadId!));
}

/** Contact deletions (from reconciliation) not carried out yet, oldest first. */
export async function pendingContactDeletions(accountId: string, limit: number): Promise<{ id: string; contactId: number }[]> {
  const rows = await db().inboundEvent.findMany({
    where: { accountId, kind: "delete_contact", processedAt: null, contactId: { not: null } },
    orderBy: { receivedAt: "asc" },
    take: limit,
    select: { id: true, contactId: true },
  });
  return rows.map((row) => ({ id: row.id, contactId: idNumber(row.contactId!) }));
}

/**
 * Drop the pending changes of these leads (a person dismissed their failures). `client`: the
 * connection of the caller's transaction.
 */
export async function dropPendingEventsOfLeads(client: SqlClient, accountId: string, leadIds: number[]): Promise<void> {
  if (leadIds.length === 0) return;
  // Raw SQL: it runs on the node-postgres connection of the caller's transaction, not Prisma's.
  await client.query(`UPDATE "InboundEvent" SET "processedAt" = now() WHERE "accountId" = $1::uuid AND "leadId" = ANY($2::bigint[]) AND "processedAt" IS NULL`, [
    accountId,
    leadIds,
  ]);
}
