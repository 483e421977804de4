// Kommo's ids (of accounts, leads, contacts, companies, pipelines, stages, users, …): integers on
// the wire, with no documented upper bound. They are JavaScript numbers here, which hold every
// integer exactly up to Number.MAX_SAFE_INTEGER (2^53 - 1); past that, JSON.parse itself would
// already have rounded the id, so no larger one can be told apart. The database keeps them as
// bigint. This is the one definition of what a Kommo id is; every schema that reads one uses it.
import { z } from "zod";

export const MAX_KOMMO_ID = Number.MAX_SAFE_INTEGER;

/** A Kommo id as a JSON number: a positive integer up to MAX_KOMMO_ID. */
export const kommoIdSchema = z
  .number({ error: "must be a Kommo id (a number)" })
  .int("must be a whole number")
  .positive("must be positive")
  .max(MAX_KOMMO_ID, "is too large to be a Kommo id");

/**
 * A Kommo id as text (a URL segment, a query or form value, a webhook field): digits only, no
 * leading zero, so that each id has one spelling; then the same bounds.
 */
export const kommoIdTextSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, "must be a positive whole number")
  .transform(Number)
  .pipe(kommoIdSchema);

/**
 * A reference to a Kommo entity in an API answer, where Kommo writes 0 for "none" (e.g. a lead's
 * group_id, or created_by for a lead made by a robot).
 */
export const kommoReferenceSchema = z.union([z.literal(0), kommoIdSchema]);
