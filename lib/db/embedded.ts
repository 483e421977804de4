// The embedded database of a zero-setup run: PGlite (Postgres compiled to WebAssembly) with its
// data under .data/, served on a loopback TCP socket so that Prisma, pg-boss and every child
// process connect to it like to any Postgres. Production uses DATABASE_URL instead.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export type EmbeddedDatabase = { url: string; stop: () => Promise<void> };

export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const directory = path.join(dataDir, "pglite");
  mkdirSync(directory, { recursive: true });
  const database = await PGlite.create(directory);
  // PGlite runs one query at a time; the socket server queues the connections of web and worker.
  const server = new PGLiteSocketServer({ db: database, host: "127.0.0.1", port: 0, maxConnections: 64 });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgresql://postgres:postgres@${address}/postgres?sslmode=disable`,
    stop: async () => {
      await server.stop();
      await database.close();
    },
  };
}
