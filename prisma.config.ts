// Configuration of the Prisma CLI (generate, migrate). It runs migrations through Prisma's bundled
// WebAssembly schema engine over node-postgres, so no native engine is ever downloaded. The app's
// runtime does not load this file.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { defineConfig } from "prisma/config";
import type { Pool as PgPool, Client as PgClient, QueryResult } from "pg";

if (existsSync(".env")) process.loadEnvFile(".env");
// `prisma generate` needs no database, but an unset DATABASE_URL makes it fetch a native engine.
process.env.DATABASE_URL ??= "postgresql://generate-only@127.0.0.1:1/none";

// Workaround (WASM schema engine leaves 10 s / 60 s timers pending, so the CLI lingers after it is done):
// long timers do not keep this process alive.
const originalSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const timer = originalSetTimeout(fn, ms, ...args);
  if ((ms ?? 0) >= 5000) timer.unref();
  return timer;
}) as typeof setTimeout;

// Load pg and the adapter through one require so that both share the same pg module instance.
const requireFromProject = createRequire(path.join(process.cwd(), "package.json"));
const pg = requireFromProject("pg") as { Pool: typeof PgPool; Client: typeof PgClient };
const { PrismaPg } = requireFromProject("@prisma/adapter-pg") as typeof import("@prisma/adapter-pg");

// Workaround (prisma/orm#27403): adapter-pg cannot decode catalog columns of type "char" (18) and
// name (19) that the schema engine reads during migrate; report them as text (25).
function catalogTypesAsText(result: QueryResult) {
  for (const field of result?.fields ?? []) {
    if (field.dataTypeID === 18 || field.dataTypeID === 19) field.dataTypeID = 25;
  }
  return result;
}
for (const Connection of [pg.Pool, pg.Client]) {
  const query = Connection.prototype.query as (...args: unknown[]) => unknown;
  Connection.prototype.query = function (this: unknown, ...args: unknown[]) {
    const pending = query.apply(this, args);
    return pending instanceof Promise ? pending.then(catalogTypesAsText) : pending;
  } as typeof Connection.prototype.query;
}

// Discrete fields: with a connectionString, pg ignores an overriding `database`.
function connectionConfig(database?: string) {
  const url = new URL(process.env.DATABASE_URL!);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: database ?? decodeURIComponent(url.pathname.slice(1)),
    allowExitOnIdle: true,
    idleTimeoutMillis: 1000,
  };
}

async function runAdmin(sql: string) {
  const admin = new pg.Client(connectionConfig());
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  adapter: async () => {
    const factory = new PrismaPg(connectionConfig());
    // Workaround: adapter-pg's own shadow database (used by `migrate dev` only) connects to the main
    // database and drops the shadow one while it is still in use. Create and drop it ourselves.
    factory.connectToShadowDb = async () => {
      const name = `prisma_shadow_${process.pid}_${Date.now()}`;
      await runAdmin(`CREATE DATABASE "${name}"`);
      const adapter = await new PrismaPg(connectionConfig(name)).connect();
      const dispose = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        await dispose();
        await runAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      };
      return adapter;
    };
    return factory;
  },
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
