// Carries out the mapping's operations against Klaviyo, in order. Every operation is idempotent
// (upsert by email, list membership, events with a deterministic unique_id), so running a plan
// again after a failure part-way repeats nothing visible.
import type { KlaviyoClient } from "@/lib/integrations/klaviyo";
import type { SyncOperation } from "./mapping";

export type AppliedOperation = { type: SyncOperation["type"]; target: string };

export type ApplyResult = {
  profileId: string | null;
  applied: AppliedOperation[];
  /** Identifiers Klaviyo did not take (e.g. a phone that belongs to another profile). */
  ignoredIdentifiers: string[];
};

function describe(operation: SyncOperation): AppliedOperation {
  switch (operation.type) {
    case "upsertProfile":
      return { type: operation.type, target: "profile" };
    case "addToList":
    case "removeFromList":
      return { type: operation.type, target: operation.listId };
    case "createEvent":
      return { type: operation.type, target: operation.event.metric };
  }
}

/** The same event twice in one plan (e.g. a stage change seen in two deliveries): send it once. */
function withoutRepeatedEvents(operations: SyncOperation[]): SyncOperation[] {
  const seen = new Set<string>();
  return operations.filter((operation) => {
    if (operation.type !== "createEvent" || !operation.event.unique_id) return true;
    const key = `${operation.event.metric}\n${operation.event.unique_id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export async function applyOperations(klaviyo: KlaviyoClient, operations: SyncOperation[], knownProfileId: string | null): Promise<ApplyResult> {
  let profileId = knownProfileId;
  const applied: AppliedOperation[] = [];
  const ignoredIdentifiers: string[] = [];
  const profileFor = (operation: { profileId: string | null }) => {
    const id = operation.profileId ?? profileId;
    if (!id) throw new Error("a list operation came before the profile it needs was created");
    return id;
  };
  for (const operation of withoutRepeatedEvents(operations)) {
    switch (operation.type) {
      case "upsertProfile": {
        const result = await klaviyo.upsertProfile(operation.attributes);
        profileId = result.profileId;
        ignoredIdentifiers.push(...result.ignoredIdentifiers);
        break;
      }
      case "addToList":
        await klaviyo.addProfilesToList(operation.listId, [profileFor(operation)]);
        break;
      case "removeFromList":
        await klaviyo.removeProfilesFromList(operation.listId, [profileFor(operation)]);
        break;
      case "createEvent":
        await klaviyo.createEvent(operation.event);
        break;
    }
    applied.push(describe(operation));
  }
  return { profileId, applied, ignoredIdentifiers };
}
