// The Klaviyo side of a historical import, in Klaviyo's bulk endpoints: profiles through
// asynchronous import jobs (whose status is polled), their ids through one lookup per 100 emails
// (an import job does not answer with ids, and its profile listing allows only 150 calls a minute),
// list memberships 1000 profiles a call, events 1000 a bulk job with `backfill: true`. Every call
// is idempotent (upsert by email, membership, events by unique_id), so a chunk done twice after a
// crash changes nothing the second time.
import { KlaviyoError, LIMITS, type KlaviyoClient } from "@/lib/integrations/klaviyo";
import type { EventInput, ProfileAttributes } from "@/lib/integrations/klaviyo/types";

/** Under Klaviyo's 5 MB per bulk request, with room for the JSON:API envelope. */
const BULK_BYTES_BUDGET = 4 * 1024 * 1024;
/** Well inside the backfill queue's expiry (30 min). */
const JOB_TIMEOUT_MS = 10 * 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Split `items` into batches of at most `maxItems` whose JSON stays under the byte budget. */
export function sizedBatches<T>(items: T[], maxItems: number, budget = BULK_BYTES_BUDGET): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 64;
    if (current.length > 0 && (current.length >= maxItems || bytes + size > budget)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

class ImportJobError extends KlaviyoError {
  constructor(message: string) {
    super("server_error", message, { retryable: true, status: null, operation: "get_bulk_import_profiles_job" });
  }
}

/**
 * Import the profiles and wait until Klaviyo has processed them. Jobs are started together and then
 * polled, slowly growing the interval (job status reads share a 10/s, 150/min limit).
 */
export async function importProfiles(
  klaviyo: KlaviyoClient,
  profiles: ProfileAttributes[],
  /** Called while waiting for Klaviyo, which may take minutes for a large import. */
  alive: () => Promise<void> = async () => undefined,
  firstPollMs = 200,
): Promise<{ failed: number }> {
  const jobs = [];
  for (const batch of sizedBatches(profiles, LIMITS.profilesPerImportJob)) jobs.push(await klaviyo.createProfileImportJob(batch));
  let failed = 0;
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  for (const started of jobs) {
    let job = started;
    let waitMs = firstPollMs;
    while (job.status === "queued" || job.status === "processing") {
      if (Date.now() > deadline) throw new ImportJobError(`Klaviyo's profile import job ${job.id} did not finish within ${JOB_TIMEOUT_MS / 60_000} minutes`);
      await sleep(waitMs);
      await alive();
      waitMs = Math.min(Math.round(waitMs * 1.5), 5_000);
      job = await klaviyo.getProfileImportJob(job.id);
    }
    if (job.status === "cancelled") throw new ImportJobError(`Klaviyo cancelled the profile import job ${job.id}`);
    failed += job.failedCount;
  }
  return { failed };
}

/** Send events in bulk jobs of up to 1000 (Klaviyo drops repeats of a unique_id within a job first). */
export async function sendHistoricalEvents(klaviyo: KlaviyoClient, events: EventInput[]): Promise<number> {
  let sent = 0;
  for (const batch of sizedBatches(events, LIMITS.eventsPerBulkJob)) sent += (await klaviyo.createEventBulkJob(batch, { backfill: true })).sent;
  return sent;
}

export type PendingLists = Record<string, string[]>;

/**
 * Put profiles in their lists. Full calls of 1000 are made now; the rest waits for the next chunk
 * unless `all` (the last chunk). Returns what is still pending.
 */
export async function addListMembers(klaviyo: KlaviyoClient, pending: PendingLists, all: boolean): Promise<PendingLists> {
  const left: PendingLists = {};
  for (const [listId, members] of Object.entries(pending)) {
    const unique = [...new Set(members)];
    const ready = all ? unique.length : unique.length - (unique.length % LIMITS.profilesPerListCall);
    if (ready > 0) await klaviyo.addProfilesToList(listId, unique.slice(0, ready));
    if (ready < unique.length) left[listId] = unique.slice(ready);
  }
  return left;
}
