// StageListMapping reads: the account's stage -> Klaviyo list mapping, read by every sync (plain SQL
// on the small pool for that reason). The settings save writes the table through Prisma.
import { sqlPool } from "./sql-pool";

export type StageList = { pipelineId: number; statusId: number; listId: string };

export async function stageListsOf(accountId: string): Promise<StageList[]> {
  const { rows } = await sqlPool().query<StageList>(
    `SELECT "pipelineId", "statusId", "listId" FROM "StageListMapping" WHERE "accountId" = $1::uuid ORDER BY "pipelineId", "statusId"`,
    [accountId],
  );
  return rows;
}
