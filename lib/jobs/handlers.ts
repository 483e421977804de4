// Which function runs the jobs of which queue. Domain modules own the handlers; this is the index.
import { handleKommoInstallJob } from "@/lib/kommo/install-job";
import { handleSyncLeadJob } from "@/lib/sync/sync-lead";
import { QUEUES } from "./queues";
import type { JobHandler } from "./worker";

export const jobHandlers: Partial<Record<string, JobHandler>> = {
  [QUEUES.kommoInstall.name]: handleKommoInstallJob,
  [QUEUES.syncLead.name]: handleSyncLeadJob,
};
