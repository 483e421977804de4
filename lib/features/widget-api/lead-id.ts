// The `[leadId]` segment of the deal-card routes: a Kommo lead id (lib/integrations/kommo/ids.ts).
// Anything else is refused before any query runs.
import { z } from "zod";
import { kommoIdTextSchema } from "@/lib/integrations/kommo/ids";

export const leadIdSchema = z.string({ error: "the lead id must be a positive whole number" }).pipe(kommoIdTextSchema);

export const leadParamsSchema = z.object({ leadId: leadIdSchema });
