// Deal: what we last told Klaviyo about a Kommo deal (the state the next sync compares against),
// and the lease that keeps two syncs of one deal apart. Every statement on the table is in this
// module; the sync outcome statement also writes its sync-log row and marks its changes processed.
import { db, type Account, type Deal, type Prisma } from "./client";
import { idNumber, numberIds, type NumberIds } from "./kommo-ids";
import { sqlPool, type SqlClient } from "./sql-pool";
import type { SyncAttempt } from "./sync-log";

type Tx = Prisma.TransactionClient;

export type DealState = NumberIds<
  Pick<
  Deal,
  | "leadId"
  | "pipelineId"
  | "statusId"
  | "stageName"
  | "mainContactId"
  | "email"
  | "klaviyoProfileId"
  | "listIds"
  | "profileFingerprint"
  | "lastSyncedAt"
  | "lastSyncStatus"
  | "lastError"
  | "closedAt"
  | "deletedAt"
  >
>;

const STATE = {
  leadId: true,
  pipelineId: true,
  statusId: true,
  stageName: true,
  mainContactId: true,
  email: true,
  klaviyoProfileId: true,
  listIds: true,
  profileFingerprint: true,
  lastSyncedAt: true,
  lastSyncStatus: true,
  lastError: true,
  closedAt: true,
  deletedAt: true,
} as const satisfies Prisma.DealSelect;

/** The deal as we last synced it; null when we never saw it. */
export async function dealState(accountId: string, leadId: number): Promise<DealState | null> {
  const row = await db().deal.findUnique({ where: { accountId_leadId: { accountId, leadId } }, select: STATE });
  return row && numberIds(row);
}

/** Klaviyo lists that the contact's other live deals (same e-mail, any case) put it in. */
export async function listsOfOtherDeals(accountId: string, leadId: number, email: string): Promise<string[]> {
  // Raw SQL on the small pool: a read of every sync.
  const { rows } = await sqlPool().query<{ listId: string }>(
    `SELECT DISTINCT unnest("listIds") AS "listId" FROM "Deal"
     WHERE "accountId" = $1::uuid AND lower("email") = lower($2) AND "leadId" <> $3 AND "deletedAt" IS NULL`,
    [accountId, email, leadId],
  );
  return rows.map((row) => row.listId);
}

/** What a sync attempt learnt of the deal, recorded on its row (which the deal's lease created). */
export type DealSyncRecord = {
  /** What Kommo said of the deal, when the attempt got that far. */
  seen?: { deleted: boolean; contactId: number | null };
  /** What Klaviyo now holds for the deal (a sync that applied its operations). */
  applied?: {
    pipelineId: number | null;
    statusId: number | null;
    stageName: string | null;
    email: string | null;
    listIds: string[];
    profileFingerprint: string | null;
    /** Unchanged when undefined or null. */
    profileId?: string | null;
  };
};

// ---- The lease: one sync at a time per deal

/** The state columns as SQL, for statements that return the deal's state (RETURNING). */
const STATE_COLUMNS = Object.keys(STATE)
  .map((column) => `"${column}"`)
  .join(", ");

// Raw SQL on the small pool (lib/db/sql-pool.ts): the sync's hot path, a statement per step. The
// lease: an upsert whose update applies only under a condition on the existing row (Prisma's upsert
// cannot say that), as one atomic statement that also returns what the sync compares against, and
// the account's row with it (one round trip instead of two). An account that is disconnected (its
// data is deleted) or paused gets no lease, and no deal row.
const DEAL_COLUMN_PREFIX = "deal.";
const TAKE_LEASE = `
  WITH account AS (SELECT * FROM "Account" WHERE "id" = $1::uuid),
  lease AS (
    INSERT INTO "Deal" ("id", "accountId", "leadId", "syncLeaseOwner", "syncLeaseUntil", "createdAt", "updatedAt")
    SELECT gen_random_uuid(), account."id", $2, $3, now() + make_interval(secs => $4::int), now(), now()
    FROM account WHERE account."status" <> 'disconnected' AND NOT account."paused"
    ON CONFLICT ("accountId", "leadId") DO UPDATE
      SET "syncLeaseOwner" = EXCLUDED."syncLeaseOwner", "syncLeaseUntil" = EXCLUDED."syncLeaseUntil"
      WHERE "Deal"."syncLeaseUntil" IS NULL OR "Deal"."syncLeaseUntil" < now() OR "Deal"."syncLeaseOwner" = $3
    RETURNING ${STATE_COLUMNS})
  SELECT account.*, ${Object.keys(STATE)
    .map((column) => `lease."${column}" AS "${DEAL_COLUMN_PREFIX}${column}"`)
    .join(", ")}
  FROM account LEFT JOIN lease ON true`;

export type LeaseAttempt =
  /** No such account. */
  | { account: null; deal: null }
  /** The account, and the deal's state when we hold its lease now (null: another holds it, or the account is disconnected or paused). */
  | { account: Account; deal: DealState | null };

/**
 * Read the account and, unless it is disconnected or paused, take the deal's lease for `seconds`
 * when it is free, expired or already ours (creating the deal's row on its first sync).
 */
export async function takeDealLease(accountId: string, leadId: number, owner: string, seconds: number): Promise<LeaseAttempt> {
  const { rows } = await sqlPool().query<Record<string, unknown>>(TAKE_LEASE, [accountId, leadId, owner, Math.ceil(seconds)]);
  const row = rows[0];
  if (!row) return { account: null, deal: null };
  const account: Record<string, unknown> = {};
  const deal: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    if (column.startsWith(DEAL_COLUMN_PREFIX)) deal[column.slice(DEAL_COLUMN_PREFIX.length)] = value;
    else account[column] = value;
  }
  return { account: account as Account, deal: deal.leadId === null ? null : (deal as DealState) };
}

export async function releaseDealLease(accountId: string, leadId: number, owner: string): Promise<void> {
  await sqlPool().query(
    `UPDATE "Deal" SET "syncLeaseOwner" = NULL, "syncLeaseUntil" = NULL WHERE "accountId" = $1::uuid AND "leadId" = $2 AND "syncLeaseOwner" = $3`,
    [accountId, leadId, owner],
  );
}

// The outcome of a sync attempt, as one statement (one round trip, atomic as a whole): its row in
// the sync log, its changes marked processed (when it applied them), and the deal's row, on which
// an attempt that got as far as reading Kommo records what it saw ($seen) and one that applied its
// operations records what Klaviyo now holds ($applied); when it is the sync's last write, it also
// releases the deal's lease ($27, the owner), which saves the release its own round trip.
const SAVE_SYNC_OUTCOME = `
  WITH log AS (
    INSERT INTO "SyncLog" ("id", "accountId", "leadId", "trigger", "status", "operations", "error", "errorCode", "attempt", "jobId",
                           "kommoCalls", "klaviyoCalls", "startedAt", "finishedAt", "durationMs", "createdAt")
    VALUES (gen_random_uuid(), $1::uuid, $2, $3, $4::"SyncStatus", $5::jsonb, $6, $7, $8, $9, $10, $11, $12::timestamptz, $13::timestamptz,
            $14, now())
  ), processed AS (
    UPDATE "InboundEvent" SET "processedAt" = $13::timestamptz WHERE "id" = ANY($15::uuid[]) AND "accountId" = $1::uuid
  )
  UPDATE "Deal" SET
    "lastSyncStatus" = $4::"SyncStatus",
    "lastError" = CASE WHEN $4 = 'ok' THEN NULL ELSE $6 END,
    "deletedAt" = CASE WHEN $16::boolean THEN (CASE WHEN $17::boolean THEN $13::timestamptz END) ELSE "deletedAt" END,
    "mainContactId" = CASE WHEN $16::boolean AND $18::bigint IS NOT NULL THEN $18::bigint ELSE "mainContactId" END,
    "pipelineId" = CASE WHEN $19::boolean THEN $20::bigint ELSE "pipelineId" END,
    "statusId" = CASE WHEN $19::boolean THEN $21::bigint ELSE "statusId" END,
    "stageName" = CASE WHEN $19::boolean THEN $22 ELSE "stageName" END,
    "email" = CASE WHEN $19::boolean THEN $23 ELSE "email" END,
    "listIds" = CASE WHEN $19::boolean THEN $24::text[] ELSE "listIds" END,
    "profileFingerprint" = CASE WHEN $19::boolean THEN $25 ELSE "profileFingerprint" END,
    "klaviyoProfileId" = CASE WHEN $19::boolean AND $26::text IS NOT NULL THEN $26 ELSE "klaviyoProfileId" END,
    "lastSyncedAt" = CASE WHEN $19::boolean THEN $13::timestamptz ELSE "lastSyncedAt" END,
    "syncLeaseOwner" = CASE WHEN "syncLeaseOwner" = $27::text THEN NULL ELSE "syncLeaseOwner" END,
    "syncLeaseUntil" = CASE WHEN "syncLeaseOwner" = $27::text THEN NULL ELSE "syncLeaseUntil" END,
    "updatedAt" = now()
  WHERE "accountId" = $1::uuid AND "leadId" = $2`;

/**
 * A finished sync attempt: its log row (the SyncLog row lib/db/sync-log.ts describes), the changes it
 * applied marked processed, and what it learnt of the deal. The deal keeps the attempt's error unless
 * it ended ok. `releaseLeaseOf`: the lease owner whose lease this statement ends (when it holds it).
 */
export async function saveSyncOutcome(attempt: SyncAttempt, processedEventIds: string[], record: DealSyncRecord, releaseLeaseOf: string | null = null): Promise<void> {
  const { seen, applied } = record;
  await sqlPool().query(SAVE_SYNC_OUTCOME, [
    attempt.accountId,
    attempt.leadId,
    attempt.trigger,
    attempt.status,
    JSON.stringify(attempt.operations),
    attempt.error,
    attempt.errorCode,
    attempt.attempt,
    attempt.jobId,
    attempt.kommoCalls,
    attempt.klaviyoCalls,
    attempt.startedAt,
    attempt.finishedAt,
    attempt.finishedAt.getTime() - attempt.startedAt.getTime(),
    processedEventIds,
    seen !== undefined,
    seen?.deleted ?? false,
    seen?.contactId ?? null,
    applied !== undefined,
    applied?.pipelineId ?? null,
    applied?.statusId ?? null,
    applied?.stageName ?? null,
    applied?.email ?? null,
    applied?.listIds ?? [],
    applied?.profileFingerprint ?? null,
    applied?.profileId ?? null,
    releaseLeaseOf,
  ]);
}

// ---- Reads for intake, reconciliation, email activity and the dashboard

/** The live deals whose main contact is one of these. `client`: the connection of the caller's transaction. */
export async function liveDealsOfContacts(client: SqlClient, accountId: string, contactIds: number[]): Promise<{ leadId: number; mainContactId: number }[]> {
  if (contactIds.length === 0) return [];
  // Raw SQL: the webhook's hot path reads on the connection its transaction already holds.
  const { rows } = await client.query<{ leadId: number; mainContactId: number }>(
    `SELECT "leadId", "mainContactId" FROM "Deal" WHERE "accountId" = $1::uuid AND "mainContactId" = ANY($2::bigint[]) AND "deletedAt" IS NULL`,
    [accountId, contactIds],
  );
  return rows;
}

export type DealSyncFacts = { leadId: number; synced: boolean; deleted: boolean };

/** Of these leads, the ones we have a row for: whether a sync finished, whether Kommo deleted them. */
export async function dealSyncFacts(accountId: string, leadIds: number[]): Promise<DealSyncFacts[]> {
  if (leadIds.length === 0) return [];
  const rows = await db().deal.findMany({ where: { accountId, leadId: { in: leadIds } }, select: { leadId: true, lastSyncedAt: true, deletedAt: true } });
  return rows.map((row) => ({ leadId: idNumber(row.leadId), synced: row.lastSyncedAt !== null, deleted: row.deletedAt !== null }));
}

/** The leads among these that a sync (live or imported) has finished. */
export async function syncedLeadIds(accountId: string, leadIds: number[]): Promise<number[]> {
  if (leadIds.length === 0) return [];
  const rows = await db().deal.findMany({ where: { accountId, leadId: { in: leadIds }, lastSyncedAt: { not: null } }, select: { leadId: true } });
  return rows.map((row) => idNumber(row.leadId));
}

/** Stage names as our synced deals last had them, per status id (the dashboard names stages without asking Kommo). */
export async function stageNamesOf(accountId: string, statusIds: number[]): Promise<Map<number, string>> {
  if (statusIds.length === 0) return new Map();
  const rows = await db().deal.findMany({
    where: { accountId, statusId: { in: statusIds }, stageName: { not: null } },
    distinct: ["statusId"],
    select: { statusId: true, stageName: true },
  });
  return new Map(rows.map((row) => [idNumber(row.statusId!), row.stageName!]));
}

/** The Klaviyo profiles among these that one of our deals was synced to. */
export async function profilesOfDeals(accountId: string, profileIds: string[]): Promise<string[]> {
  if (profileIds.length === 0) return [];
  const rows = await db().deal.findMany({
    where: { accountId, klaviyoProfileId: { in: profileIds } },
    distinct: ["klaviyoProfileId"],
    select: { klaviyoProfileId: true },
  });
  return rows.map((row) => row.klaviyoProfileId!);
}

export type DealOfProfile = {
  leadId: number;
  statusId: number | null;
  /** When it was closed, or the best stand-in we have (its last sync, its last change). */
  closedAt: Date | null;
  /** The profile the deal was synced to, and the one its main contact is linked to. */
  dealProfile: string | null;
  linkProfile: string | null;
};

/** Live, synced deals that belong to one of these profiles: synced to it, or their contact linked to it. */
export async function dealsOfProfiles(accountId: string, profileIds: string[]): Promise<DealOfProfile[]> {
  // Raw SQL: a join with KlaviyoProfileLink on the contact, a relation the schema does not model.
  const rows = await db().$queryRaw<(Omit<DealOfProfile, "leadId" | "statusId"> & { leadId: bigint; statusId: bigint | null })[]>`
    SELECT d."leadId", d."statusId", COALESCE(d."closedAt", d."lastSyncedAt", d."updatedAt") AS "closedAt",
           d."klaviyoProfileId" AS "dealProfile", l."klaviyoProfileId" AS "linkProfile"
    FROM "Deal" d
    LEFT JOIN "KlaviyoProfileLink" l ON l."accountId" = d."accountId" AND l."contactId" = d."mainContactId"
    WHERE d."accountId" = ${accountId}::uuid AND d."deletedAt" IS NULL AND d."lastSyncedAt" IS NOT NULL
      AND (d."klaviyoProfileId" = ANY(${profileIds}::text[]) OR l."klaviyoProfileId" = ANY(${profileIds}::text[]))`;
  return rows.map(numberIds);
}

/** A Klaviyo profile was erased: the deals synced to it forget it and their e-mail. */
export async function forgetProfile(accountId: string, profileId: string, tx: Tx = db()): Promise<void> {
  await tx.deal.updateMany({ where: { accountId, klaviyoProfileId: profileId }, data: { klaviyoProfileId: null, email: null } });
}

// ---- The historical import

export type ImportedDeal = {
  leadId: number;
  pipelineId: number | null;
  statusId: number | null;
  stageName: string | null;
  mainContactId: number;
  email: string;
  klaviyoProfileId: string;
  listIds: string[];
  profileFingerprint: string | null;
  /** Kommo's closed_at (ISO 8601) of a won or lost deal. */
  closedAt: string | null;
};

/**
 * Deals the import found new to us get the state a sync would have left. A deal that a live sync
 * has synced meanwhile, or is working on (its lease), keeps the live state.
 */
export async function saveImportedDeals(tx: Tx, accountId: string, deals: ImportedDeal[]): Promise<void> {
  if (deals.length === 0) return;
  // Raw SQL: a bulk upsert of up to a chunk of deals whose update applies only under a condition on
  // the existing row, in one statement (Prisma's upsert is one row and unconditional).
  await tx.$executeRaw`
    INSERT INTO "Deal" ("id", "accountId", "leadId", "pipelineId", "statusId", "stageName", "mainContactId", "email", "klaviyoProfileId",
                        "listIds", "profileFingerprint", "closedAt", "lastSyncedAt", "lastSyncStatus", "createdAt", "updatedAt")
    SELECT gen_random_uuid(), ${accountId}::uuid, d."leadId", d."pipelineId", d."statusId", d."stageName", d."mainContactId", d.email,
           d."klaviyoProfileId", ARRAY(SELECT jsonb_array_elements_text(d."listIds")), d."profileFingerprint",
           d."closedAt", now(), 'ok'::"SyncStatus", now(), now()
    FROM jsonb_to_recordset(${JSON.stringify(deals)}::jsonb) AS d("leadId" bigint, "pipelineId" bigint, "statusId" bigint, "stageName" text,
         "mainContactId" bigint, email text, "klaviyoProfileId" text, "listIds" jsonb, "profileFingerprint" text, "closedAt" timestamptz)
    ON CONFLICT ("accountId", "leadId") DO UPDATE SET
      "pipelineId" = EXCLUDED."pipelineId", "statusId" = EXCLUDED."statusId", "stageName" = EXCLUDED."stageName",
      "mainContactId" = EXCLUDED."mainContactId", "email" = EXCLUDED."email", "klaviyoProfileId" = EXCLUDED."klaviyoProfileId",
      "listIds" = EXCLUDED."listIds", "profileFingerprint" = EXCLUDED."profileFingerprint", "closedAt" = EXCLUDED."closedAt",
      "lastSyncedAt" = EXCLUDED."lastSyncedAt", "lastSyncStatus" = EXCLUDED."lastSyncStatus", "lastError" = NULL,
      "deletedAt" = NULL, "updatedAt" = EXCLUDED."updatedAt"
    WHERE "Deal"."lastSyncedAt" IS NULL AND ("Deal"."syncLeaseUntil" IS NULL OR "Deal"."syncLeaseUntil" < now())`;
}

/**
 * Deals synced before (e.g. a second import after new list mappings): the lists the import put the
 * profile in are theirs too, so that a later stage move knows to take it out. Only where the deal
 * still has that e-mail and no sync holds its lease.
 */
export async function addImportedLists(tx: Tx, accountId: string, deals: { leadId: number; email: string; listIds: string[] }[]): Promise<void> {
  if (deals.length === 0) return;
  // Raw SQL: a bulk update that merges each row's array with its own new values, in one statement.
  await tx.$executeRaw`
    UPDATE "Deal" SET "listIds" = ARRAY(SELECT DISTINCT unnest("Deal"."listIds" || ARRAY(SELECT jsonb_array_elements_text(k."listIds")))), "updatedAt" = now()
    FROM jsonb_to_recordset(${JSON.stringify(deals)}::jsonb) AS k("leadId" bigint, email text, "listIds" jsonb)
    WHERE "Deal"."accountId" = ${accountId}::uuid AND "Deal"."leadId" = k."leadId" AND lower("Deal"."email") = lower(k.email)
      AND ("Deal"."syncLeaseUntil" IS NULL OR "Deal"."syncLeaseUntil" < now())`;
}
