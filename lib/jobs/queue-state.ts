// What is in pg-boss's own tables (schema QUEUE_SCHEMA: `queue`, `job`), read and pruned here only.
// pg-boss's API finds jobs by id, not by what they are for (the account or lead in their data), and
// counts one queue at a time; the dashboard, the metrics and the health check need both, so these
// statements read its tables directly. They depend on pg-boss's table layout (v10): an upgrade
// that changes it is checked against this one file.
import type PgBoss from "pg-boss";
import { db, Prisma, type PrismaClient } from "@/lib/db/client";
import { QUEUE_SCHEMA } from "./boss";
import { DEAD_LETTER_QUEUE } from "./queues";

const jobTable = Prisma.raw(`"${QUEUE_SCHEMA}".job`);
const queueTable = Prisma.raw(`"${QUEUE_SCHEMA}".queue`);

type RawReader = Pick<PrismaClient, "$queryRaw">;
type RawWriter = Pick<PrismaClient, "$executeRaw">;

/** The queues that exist (`npm run db:migrate` creates them). `client`: the health check's own. */
export async function existingQueueNames(client: RawReader = db()): Promise<string[]> {
  const rows = await client.$queryRaw<{ name: string }[]>`SELECT name FROM ${queueTable}`;
  return rows.map((row) => row.name);
}

export type QueueLoad = { waiting: number; running: number };

/** Per account: the queue's jobs for it (`data.accountId`) waiting (new or to be retried) and running now. */
export async function queueLoadByAccount(queue: string, accountIds: string[]): Promise<Map<string, QueueLoad>> {
  if (accountIds.length === 0) return new Map();
  const rows = await db().$queryRaw<({ accountId: string } & QueueLoad)[]>`
    SELECT data->>'accountId' AS "accountId",
      count(*) FILTER (WHERE state IN ('created', 'retry'))::int AS waiting,
      count(*) FILTER (WHERE state = 'active')::int AS running
    FROM ${jobTable}
    WHERE name = ${queue} AND state IN ('created', 'retry', 'active')
      AND data->>'accountId' = ANY(${accountIds}::text[])
    GROUP BY 1`;
  return new Map(rows.map(({ accountId, ...load }) => [accountId, load]));
}

export type QueueStateCount = { name: string; state: string; jobs: number };
export type QueueBacklogAge = { name: string; seconds: number };

/**
 * Every queue's jobs by state (created, retry, active, failed: the finished ones are left out), and
 * the age of its oldest job that is due and still waiting for a worker.
 */
export async function queueCounts(): Promise<{ states: QueueStateCount[]; oldest: QueueBacklogAge[] }> {
  const [states, oldest] = await Promise.all([
    db().$queryRaw<QueueStateCount[]>`
      SELECT name, state::text AS state, count(*)::int AS jobs FROM ${jobTable}
      WHERE state IN ('created', 'retry', 'active', 'failed') GROUP BY 1, 2`,
    db().$queryRaw<QueueBacklogAge[]>`
      SELECT name, extract(epoch FROM now() - min(start_after))::float8 AS seconds FROM ${jobTable}
      WHERE state IN ('created', 'retry') AND start_after <= now() GROUP BY 1`,
  ]);
  return { states, oldest };
}

/**
 * Remove the queue's jobs for the account that have not started yet. `client`: the caller's
 * transaction, so that they go with what made them pointless.
 */
export function dropWaitingJobsOfAccount(queue: string, accountId: string, client: RawWriter = db()): Promise<number> {
  return client.$executeRaw`
    DELETE FROM ${jobTable}
    WHERE name = ${queue} AND state IN ('created', 'retry') AND data->>'accountId' = ${accountId}`;
}

/**
 * Remove the dead letters (deal syncs that used up their retries) of these leads, through `tx`: the
 * connection of the caller's transaction, the one pg-boss enqueues through (sql-pool's inTransaction).
 */
export async function dropDeadLetters(tx: PgBoss.Db, accountId: string, leadIds: number[]): Promise<void> {
  if (leadIds.length === 0) return;
  await tx.executeSql(
    `DELETE FROM "${QUEUE_SCHEMA}".job
     WHERE name = $1 AND data->>'accountId' = $2 AND (data->>'leadId')::bigint = ANY($3::bigint[])`,
    [DEAD_LETTER_QUEUE, accountId, leadIds],
  );
}

/**
 * Per queue, seconds until its next waiting job is due (≤ 0: due now); queues with nothing waiting
 * are left out. The worker's once-a-second due check, through pg-boss's own pool (`boss.getDb()`):
 * one index probe per queue (pg-boss's index on (name, start_after) of waiting jobs), however long
 * the backlog.
 */
export async function secondsUntilNextJob(executor: PgBoss.Db, queues: string[]): Promise<Map<string, number>> {
  const { rows } = await executor.executeSql(
    `SELECT q.name, extract(epoch FROM next.start_after - now())::float8 AS seconds
     FROM unnest($1::text[]) AS q(name)
     CROSS JOIN LATERAL (
       SELECT start_after FROM "${QUEUE_SCHEMA}".job
       WHERE name = q.name AND state < 'active'
       ORDER BY start_after LIMIT 1
     ) next`,
    [queues],
  );
  return new Map((rows as { name: string; seconds: number }[]).map((row) => [row.name, row.seconds]));
}
