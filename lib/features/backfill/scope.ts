// What a backfill covers (the widget's `scope`), the shape of its resumable cursor, and the API
// view of a run. All zod: the scope comes from the widget, the cursor back from our own database.
import { z } from "zod";
import { kommoIdSchema } from "@/lib/integrations/kommo/ids";
import type { BackfillRun } from "@/lib/db/client";

const day = z.iso.date().transform((value) => `${value}T00:00:00.000Z`);
const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value).toISOString());

export const backfillScopeSchema = z.strictObject({
  /** Only deals of these pipelines (default: every pipeline). */
  pipelineIds: z.array(kommoIdSchema).min(1, "list at least one pipeline, or leave pipelineIds out for all").max(50).optional(),
  /** Only deals that are not won or lost. */
  onlyOpen: z.boolean().optional(),
  /** Only deals created or changed since this date (YYYY-MM-DD, or an ISO 8601 instant). */
  since: z
    .union([day, instant], { error: "since must be a date (YYYY-MM-DD) or an ISO 8601 date-time" })
    .refine((value) => Date.parse(value) <= Date.now(), "since cannot be in the future")
    .optional(),
});
export type BackfillScope = z.infer<typeof backfillScopeSchema>;

/** POST /api/widget/backfill body. */
export const backfillRequestSchema = z.strictObject({ scope: backfillScopeSchema.optional() });

/** Stored scope of a run (written by us from the schema above; read back defensively). */
export function storedScope(json: unknown): BackfillScope {
  const parsed = backfillScopeSchema.safeParse(json ?? {});
  return parsed.success ? parsed.data : {};
}

/**
 * Where a run stands. `nextHref`: the Kommo leads page to read next (null before the first page and
 * after the last one, told apart by `started`). `pendingLists`: profiles imported but not yet put in
 * their lists (list calls cost 10/s and take 1000 profiles, so they are filled up across chunks).
 * `owner`: the job attempt working on the run; a newer attempt takes over and the older one stops.
 * `failures`: the attempts that failed since the last chunk was saved (whichever job made them),
 * and how many of the last ones failed with the same message; a saved chunk clears it.
 */
export const backfillCursorSchema = z.object({
  owner: z.string().nullable().default(null),
  started: z.boolean().default(false),
  nextHref: z.string().nullable().default(null),
  pendingLists: z.record(z.string(), z.array(z.string())).default({}),
  skipped: z.number().int().nonnegative().default(0),
  failures: z
    .object({ inARow: z.number().int().positive(), message: z.string(), sameMessage: z.number().int().positive() })
    .nullable()
    .default(null),
});
export type BackfillCursor = z.infer<typeof backfillCursorSchema>;

export const readCursor = (json: unknown): BackfillCursor => backfillCursorSchema.parse(json ?? {});

/** What the widget shows (GET /api/widget/backfill). */
export type BackfillView = {
  id: string;
  status: "queued" | "running" | "completed" | "failed";
  done: number;
  total: number | null;
  errors: number;
  lastError: string | null;
};

export function backfillView(run: Pick<BackfillRun, "id" | "status" | "done" | "total" | "errors" | "lastError">): BackfillView {
  return {
    id: run.id,
    // A cancelled run (the account was disconnected) reads as failed, with the reason in lastError.
    status: run.status === "cancelled" ? "failed" : run.status,
    done: run.done,
    total: run.total,
    errors: run.errors,
    lastError: run.lastError,
  };
}
