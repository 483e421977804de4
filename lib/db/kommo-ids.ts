// Kommo's ids are bigint columns; the rest of the product carries them as JavaScript numbers,
// which hold them exactly: every id is checked against Number.MAX_SAFE_INTEGER when it comes in
// (lib/integrations/kommo/ids.ts). What the database returns is converted here, at its boundary.

/** A row with its bigint columns as numbers. */
export type NumberIds<Row> = {
  [Key in keyof Row]: Row[Key] extends bigint ? number : Row[Key] extends bigint | null ? number | null : Row[Key];
};

/** A bigint read from the database as the number it is (an id that came in as a safe integer). */
export function idNumber(value: bigint | number | string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new RangeError(`stored id ${String(value)} is not a safe integer`);
  return number;
}

/** The row with each bigint field as a number; other fields as they are. */
export function numberIds<Row extends object>(row: Row): NumberIds<Row> {
  const converted = { ...row } as Record<string, unknown>;
  for (const [key, value] of Object.entries(row)) if (typeof value === "bigint") converted[key] = idNumber(value);
  return converted as NumberIds<Row>;
}
