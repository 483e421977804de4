// One Prisma client per process, over node-postgres (driver adapter: no native query engine).
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient, type Account as AccountRow } from "./generated/client";
import type { NumberIds } from "./kommo-ids";

export * from "./generated/client";
export { idNumber, numberIds, type NumberIds } from "./kommo-ids";

/** An account as the product uses it: its Kommo ids as numbers (read rows through numberIds). */
export type Account = NumberIds<AccountRow>;

const globalCache = globalThis as unknown as { prismaClient?: PrismaClient };

export function createPrismaClient(databaseUrl: string, maxConnections = 10): PrismaClient {
  return new PrismaClient({
    adapter: new PrismaPg({
      connectionString: databaseUrl,
      max: maxConnections,
      // Prisma's Postgres adapter sends a DateTime as UTC wall-clock text without an offset and
      // reads a timestamptz by its wall-clock part: both are right only in a session whose time
      // zone is UTC, and the server's default may be anything. The pool runs this on every new
      // connection before handing it out.
      onConnect: async (client) => {
        await client.query("SET TIME ZONE 'UTC'");
      },
    }),
  });
}

function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set (npm start sets it for the embedded database)");
  return url;
}

/** The process-wide client; created on first use so that importing this module never connects. */
export function db(): PrismaClient {
  globalCache.prismaClient ??= createPrismaClient(databaseUrl());
  return globalCache.prismaClient;
}
