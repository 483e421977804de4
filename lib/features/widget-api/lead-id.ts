// The `[leadId]` segment of the deal-card routes: a Kommo lead id, a positive 32-bit integer
// (Kommo's ids and our Deal.leadId column). Anything else is refused before any query runs.
import { z } from "zod";

const MAX_LEAD_ID = 2_147_483_647;

export const leadIdSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, "the lead id must be a positive whole number")
  .transform(Number)
  .refine((id) => id <= MAX_LEAD_ID, "the lead id is too large to be a Kommo lead id");

export const leadParamsSchema = z.object({ leadId: leadIdSchema });
