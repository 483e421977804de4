// A bare account row, for the tests of one table module or one statement: installed, no tokens, no
// settings, with a Kommo account id of its own past 2^31 (real ids can be).
import { randomBytes, randomInt } from "node:crypto";
import { db } from "@/lib/db/client";

// Test files may share a database: each starts at a random point of a wide range.
let nextKommoId = 3_000_000_000 + randomInt(0, 1_000_000_000);

export async function insertBareAccount(): Promise<{ id: string; kommoAccountId: number }> {
  nextKommoId += 1;
  const kommoAccountId = nextKommoId;
  const row = await db().account.create({
    data: { kommoAccountId, subdomain: `store${kommoAccountId}`, host: `store${kommoAccountId}.kommo.com`, hookKey: randomBytes(24).toString("base64url") },
  });
  return { id: row.id, kommoAccountId };
}
