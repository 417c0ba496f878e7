/**
 * `bun run migrate` (up), `bun run migrate:down`, `bun run migrate:create NAME`.
 * Uses the same configuration as the server: PostgreSQL when DATABASE_URL or
 * DB_HOST is set, otherwise the embedded store in DATA_DIR.
 */
import postgres from "postgres";
import { databaseUrl, parseConfig } from "../config";
import { startEmbeddedPostgres } from "./embedded";
import { clientOptions } from "./open-store";
import { createMigration, migrateDown, migrateUp } from "./migrations";

const [command = "up", name] = process.argv.slice(2);

if (command === "create") {
  if (!name) {
    console.error("usage: bun run migrate:create NAME");
    process.exit(1);
  }
  console.log(`created ${await createMigration(name)}`);
  process.exit(0);
}

const config = parseConfig(process.env);
const url = databaseUrl(config);
const embedded = url ? undefined : await startEmbeddedPostgres(config.DATA_DIR);
const options = { ...clientOptions(config), max: 1 };
const sql = url ? postgres(url, options) : postgres({ ...options, ...embedded!.connection });

try {
  if (command === "up") {
    const applied = await migrateUp(sql, { schema: config.DB_SCHEMA, grantTo: config.DB_APP_ROLE === "none" ? undefined : config.DB_APP_ROLE });
    console.log(applied.length ? `applied: ${applied.join(", ")}` : "nothing to apply");
  } else if (command === "down") {
    const reverted = await migrateDown(sql);
    console.log(reverted ? `reverted: ${reverted}` : "nothing to revert");
  } else {
    console.error(`unknown command "${command}": use up, down or create NAME`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`migration failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await sql.end();
  await embedded?.close();
}
