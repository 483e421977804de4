// `npm run db:migrate`: apply committed migrations and create the queues in DATABASE_URL.
import { migrateDatabase } from "@/lib/migrate";

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error("DATABASE_URL is not set: db:migrate needs the Postgres to migrate (npm start migrates the embedded one itself)");
  process.exit(1);
}
migrateDatabase(databaseUrl).then(
  () => console.log("database is up to date"),
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
