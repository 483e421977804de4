// Recorded inbound events of one lead -> the changes the mapping applies, oldest first.
import { kommoIdSchema, kommoIdTextSchema } from "@/lib/integrations/kommo/ids";
import type { DealChange } from "./mapping";

export type RecordedEvent = {
  kind: string;
  changedAt: Date | null;
  receivedAt: Date;
  payload: unknown;
};

const idIn = (payload: Record<string, unknown>, field: string): number | undefined => {
  const value = payload[field];
  const parsed = typeof value === "string" ? kommoIdTextSchema.safeParse(value) : kommoIdSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
};

/**
 * Kommo's change time is the identity of a change (unique_id); when a delivery lacks it, the time
 * we received it is the closest stable stand-in.
 */
const changeTime = (event: RecordedEvent) => Math.floor((event.changedAt ?? event.receivedAt).getTime() / 1000);

export function changesFromEvents(events: RecordedEvent[], stageName: (pipelineId: number, statusId: number) => string | null): DealChange[] {
  const ordered = [...events].sort((a, b) => changeTime(a) - changeTime(b) || a.receivedAt.getTime() - b.receivedAt.getTime());
  const changes: DealChange[] = [];
  for (const event of ordered) {
    const payload = (event.payload && typeof event.payload === "object" ? event.payload : {}) as Record<string, unknown>;
    const changedAt = changeTime(event);
    switch (event.kind) {
      case "add_lead":
        changes.push({ kind: "created", changedAt, ...stageOf(payload, stageName) });
        break;
      case "delete_lead":
        changes.push({ kind: "deleted", changedAt });
        break;
      case "status_lead":
      case "update_lead":
      case "restore_lead":
      case "responsible_lead": {
        const stage = stageOf(payload, stageName);
        const previousStatusId = idIn(payload, "old_status_id");
        const previousPipelineId = idIn(payload, "old_pipeline_id") ?? stage.pipelineId;
        const moved = previousStatusId !== undefined && stage.statusId !== undefined && previousStatusId !== stage.statusId;
        changes.push({
          kind: moved ? "stage_changed" : "updated",
          changedAt,
          ...stage,
          ...(moved && {
            previousStatusId,
            previousPipelineId: previousPipelineId ?? null,
            previousStageName: previousPipelineId ? stageName(previousPipelineId, previousStatusId) : null,
          }),
        });
        break;
      }
      default:
        // update_contact, sync_now, reconciliation: re-send the deal as it is now.
        changes.push({ kind: "updated", changedAt });
    }
  }
  return changes;
}

function stageOf(payload: Record<string, unknown>, stageName: (pipelineId: number, statusId: number) => string | null) {
  const statusId = idIn(payload, "status_id");
  const pipelineId = idIn(payload, "pipeline_id");
  if (statusId === undefined || pipelineId === undefined) return {};
  return { statusId, pipelineId, stageName: stageName(pipelineId, statusId) };
}
