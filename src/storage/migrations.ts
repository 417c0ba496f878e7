import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Sql, TransactionSql } from "postgres";
import { applyGrants } from "./grants";

/**
 * Numbered SQL migrations in sql/: `NNN_name.sql`, each with a
 * `-- migrate:up` section and a `-- migrate:down` section. Applied versions
 * are recorded in schema_migrations; all pending files run in one
 * transaction, under an advisory lock so replicas starting together don't race.
 */
export const MIGRATIONS_DIR = join(import.meta.dir, "../../sql");

const LOCK_KEY = 7_420_113; // any constant; identifies "telemetry-vault migrations"

export interface Migration {
  version: number;
  name: string;
  up: string;
  down: string;
}

export function parseMigration(fileName: string, text: string): Migration {
  const match = /^(\d+)_([\w-]+)\.sql$/.exec(fileName);
  if (!match) throw new Error(`migration file name must look like 001_name.sql: ${fileName}`);
  const upAt = text.indexOf("-- migrate:up");
  const downAt = text.indexOf("-- migrate:down");
  if (upAt < 0) throw new Error(`${fileName}: missing "-- migrate:up"`);
  const up = text.slice(upAt + "-- migrate:up".length, downAt < 0 ? undefined : downAt).trim();
  const down = downAt < 0 ? "" : text.slice(downAt + "-- migrate:down".length).trim();
  return { version: Number(match[1]), name: match[2]!, up, down };
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const migrations = await Promise.all(
    files.map(async (f) => parseMigration(f, await readFile(join(dir, f), "utf8"))),
  );
  return migrations.sort((a, b) => a.version - b.version);
}

/** Under the lock, so replicas starting together don't race to create it. */
async function ensureTable(sql: Sql | TransactionSql) {
  await sql`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
}

/**
 * Applies every pending migration in one transaction; returns the names applied.
 * `schema`, when given, is created first (it must also be on the search_path).
 */
export async function migrateUp(sql: Sql, options: { dir?: string; schema?: string; grantTo?: string } = {}): Promise<string[]> {
  const migrations = await loadMigrations(options.dir);
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`;
    if (options.schema) await tx`CREATE SCHEMA IF NOT EXISTS ${tx(options.schema)}`;
    await ensureTable(tx);
    const applied = new Set(
      (await tx<{ version: number }[]>`SELECT version FROM schema_migrations`).map((r) => r.version),
    );
    const done: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await tx.unsafe(migration.up);
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${migration.version}, ${migration.name})`;
      done.push(`${migration.version}_${migration.name}`);
    }
    if (options.grantTo) await applyGrants(tx, options.grantTo);
    return done;
  });
}

/** Reverts the most recently applied migration; returns its name, or undefined if none. */
export async function migrateDown(sql: Sql, dir = MIGRATIONS_DIR): Promise<string | undefined> {
  const migrations = await loadMigrations(dir);
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`;
    await ensureTable(tx);
    const [last] = await tx<{ version: number }[]>`
      SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1`;
    if (!last) return undefined;
    const migration = migrations.find((m) => m.version === last.version);
    if (!migration) throw new Error(`migration ${last.version} is applied but its file is missing`);
    if (migration.down) await tx.unsafe(migration.down);
    await tx`DELETE FROM schema_migrations WHERE version = ${migration.version}`;
    return `${migration.version}_${migration.name}`;
  });
}

/** Writes sql/NNN_name.sql with empty up/down sections; returns its path. */
export async function createMigration(name: string, dir = MIGRATIONS_DIR): Promise<string> {
  if (!/^[a-z0-9_]+$/i.test(name)) throw new Error("migration name: letters, digits and _ only");
  const migrations = await loadMigrations(dir);
  const next = (migrations.at(-1)?.version ?? 0) + 1;
  const path = join(dir, `${String(next).padStart(3, "0")}_${name}.sql`);
  await writeFile(path, "-- migrate:up\n\n\n-- migrate:down\n\n", { flag: "wx" });
  return path;
}
