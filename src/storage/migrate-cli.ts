/**
 * `bun run migrate` (up), `bun run migrate:down`, `bun run migrate:create NAME`.
 * Uses the same configuration as the server: PostgreSQL when DATABASE_URL or
 * DB_HOST is set (migrating as MIGRATION_DATABASE_URL when given, the
 * tables' owner), otherwise the embedded store in DATA_DIR. Exits 1 with the
 * reason when a migration cannot be applied.
 */
import postgres from "postgres";
import { databaseUrl } from "../config";
import { cliConfig } from "./cli-config";
import { startEmbeddedPostgres } from "./embedded";
import { runMigrations } from "./migrate";
import { createMigration, migrateDown } from "./migrations";

const [command = "up", name] = process.argv.slice(2);

if (command === "create") {
  if (!name) {
    console.error("usage: bun run migrate:create NAME");
    process.exit(1);
  }
  console.log(`created ${await createMigration(name)}`);
  process.exit(0);
}
if (command !== "up" && command !== "down") {
  console.error(`unknown command "${command}": use up, down or create NAME`);
  process.exit(1);
}

const config = cliConfig("migrate");

const url = config.MIGRATION_DATABASE_URL ?? databaseUrl(config);
const embedded = url ? undefined : await startEmbeddedPostgres(config.DATA_DIR);
const logger = {
  info: (_obj: object, msg?: string) => console.log(msg ?? ""),
  warn: (obj: object, msg?: string) => console.warn(`warning: ${msg ?? ""}${"err" in obj ? ` (${String(obj.err)})` : ""}`),
};

try {
  if (command === "up") {
    const applied = await runMigrations(config, logger, { target: embedded?.connection, waitForDatabase: "bounded" });
    console.log(applied.length ? `applied: ${applied.join(", ")}` : "nothing to apply");
  } else {
    const sql = url ? postgres(url, { max: 1, onnotice: () => {} }) : postgres({ ...embedded!.connection, max: 1, onnotice: () => {} });
    try {
      if (config.DB_SCHEMA) await sql`SELECT set_config('search_path', ${config.DB_SCHEMA}, false)`;
      const reverted = await migrateDown(sql, {
        grantTo: config.DB_APP_ROLE === "none" ? undefined : config.DB_APP_ROLE,
        lockTimeoutMs: config.MIGRATION_LOCK_TIMEOUT_MS,
      });
      console.log(reverted ? `reverted: ${reverted}` : "nothing to revert");
    } finally {
      await sql.end();
    }
  }
} catch (error) {
  const lockWait = (error as { code?: unknown }).code === "55P03";
  console.error(
    lockWait
      ? `migrate: gave way: a lock it needs stayed held over MIGRATION_LOCK_TIMEOUT_MS (${config.MIGRATION_LOCK_TIMEOUT_MS} ms); nothing was reverted, run it again`
      : `migrate: ${(error as Error).message}`,
  );
  process.exitCode = 1;
} finally {
  await embedded?.close();
}
