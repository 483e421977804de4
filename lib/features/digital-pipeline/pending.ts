// Actions recorded but not yet carried out (the account was paused, needed re-authorization, had no
// Klaviyo key, or a final error stopped the action): enqueued again when that is over.
import { db } from "@/lib/db/client";
import { digitalPipelineJob } from "./action-job";

export async function enqueuePendingDigitalPipelineActions(accountId: string, leadIds?: number[]): Promise<number> {
  const pending = await db().digitalPipelineAction.findMany({
    where: { accountId, processedAt: null, ...(leadIds && { leadId: { in: leadIds } }) },
    select: { id: true, leadId: true },
  });
  await digitalPipelineJob.sendMany(pending.map((action) => ({ payload: { accountId, leadId: Number(action.leadId), actionId: action.id } })));
  return pending.length;
}
