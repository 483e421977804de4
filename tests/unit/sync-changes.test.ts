import { describe, expect, it } from "vitest";
import { changesFromEvents, type RecordedEvent } from "@/lib/features/sync/changes";

const names: Record<string, string> = { "7001:100": "Incoming", "7001:101": "Negotiation", "7001:142": "Closed - won" };
const stageName = (pipelineId: number, statusId: number) => names[`${pipelineId}:${statusId}`] ?? null;
const at = (seconds: number) => new Date(seconds * 1000);

function event(kind: string, changedAt: number | null, payload: Record<string, string>, receivedAt = 2_000_000_000): RecordedEvent {
  return { kind, changedAt: changedAt === null ? null : at(changedAt), receivedAt: at(receivedAt), payload };
}

describe("recorded events -> changes", () => {
  it("turns a creation, a stage move and a won move into ordered changes", () => {
    const changes = changesFromEvents(
      [
        event("status_lead", 1_700_000_200, { id: "5", status_id: "142", old_status_id: "101", pipeline_id: "7001" }),
        event("add_lead", 1_700_000_000, { id: "5", status_id: "100", pipeline_id: "7001" }),
        event("status_lead", 1_700_000_100, { id: "5", status_id: "101", old_status_id: "100", pipeline_id: "7001" }),
      ],
      stageName,
    );
    expect(changes).toEqual([
      { kind: "created", changedAt: 1_700_000_000, statusId: 100, pipelineId: 7001, stageName: "Incoming" },
      {
        kind: "stage_changed",
        changedAt: 1_700_000_100,
        statusId: 101,
        pipelineId: 7001,
        stageName: "Negotiation",
        previousStatusId: 100,
        previousPipelineId: 7001,
        previousStageName: "Incoming",
      },
      {
        kind: "stage_changed",
        changedAt: 1_700_000_200,
        statusId: 142,
        pipelineId: 7001,
        stageName: "Closed - won",
        previousStatusId: 101,
        previousPipelineId: 7001,
        previousStageName: "Negotiation",
      },
    ]);
  });

  it("keeps a move between pipelines with the pipeline it left", () => {
    const [change] = changesFromEvents(
      [event("status_lead", 10, { status_id: "300", pipeline_id: "8000", old_status_id: "101", old_pipeline_id: "7001" })],
      stageName,
    );
    expect(change).toMatchObject({ kind: "stage_changed", pipelineId: 8000, statusId: 300, previousPipelineId: 7001, previousStatusId: 101, previousStageName: "Negotiation" });
  });

  it("treats an update without a stage move, a contact update and Sync now as updates", () => {
    const changes = changesFromEvents(
      [
        event("update_lead", 30, { status_id: "101", old_status_id: "101", pipeline_id: "7001" }),
        event("update_contact", 20, { id: "9" }),
        event("sync_now", null, {}, 40),
      ],
      stageName,
    );
    expect(changes.map((change) => [change.kind, change.changedAt])).toEqual([
      ["updated", 20],
      ["updated", 30],
      ["updated", 40],
    ]);
  });

  it("orders changes of the same second by arrival and falls back to arrival time", () => {
    const changes = changesFromEvents(
      [
        event("status_lead", 50, { status_id: "101", old_status_id: "100", pipeline_id: "7001" }, 60),
        event("status_lead", 50, { status_id: "100", old_status_id: "101", pipeline_id: "7001" }, 61),
        event("delete_lead", null, {}, 70),
      ],
      stageName,
    );
    expect(changes.map((change) => [change.kind, change.statusId, change.changedAt])).toEqual([
      ["stage_changed", 101, 50],
      ["stage_changed", 100, 50],
      ["deleted", undefined, 70],
    ]);
  });

  it("ignores ids that are not ids", () => {
    const [change] = changesFromEvents([event("status_lead", 5, { status_id: "x", old_status_id: "-1", pipeline_id: "7001" })], stageName);
    expect(change).toEqual({ kind: "updated", changedAt: 5 });
  });
});
