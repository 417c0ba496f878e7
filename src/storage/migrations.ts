import { readdir, readFile, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Sql, TransactionSql } from "postgres";
import { applyGrants } from "./grants";

/**
 * Numbered SQL migrations in sql/: `NNN_name.sql`, each with a
 * `-- migrate:up` section and a `-- migrate:down` section. Applied versions
 * are recorded in schema_migrations with a checksum of what ran; all pending
 * files run in one transaction, under an advisory lock so replicas starting
 * together don't race.
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
  // What the up section was when applied: a file edited afterwards is refused.
  await sql`ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text`;
}

/** The up section's SHA-256, hex: what an applied migration must still read. */
export function checksumOf(migration: Migration): string {
  return createHash("sha256").update(migration.up).digest("hex");
}

/** A migration that was applied and whose file changed since: never applied again, never ignored. */
export class MigrationChangedError extends Error {
  constructor(readonly migration: string) {
    super(
      `migration ${migration} was changed after it was applied (its checksum differs from the one recorded): ` +
        "restore the file as it was and put the change in a new migration",
    );
    this.name = "MigrationChangedError";
  }
}

export interface MigrateUpOptions {
  dir?: string;
  /** Created first (it must also be on the search_path). */
  schema?: string;
  /** The group role the service's login belongs to: granted what the service needs (grants.ts). */
  grantTo?: string;
  /**
   * The service's login, when it is not the user migrating: its session
   * settings are stored on the role (ALTER ROLE … IN DATABASE … SET), so it
   * needs no startup parameters (PgBouncer in transaction mode refuses them).
   */
  serviceLogin?: { name: string; settings: Record<string, string> };
  /** How long a statement waits for a lock before giving up (the caller retries): DDL must not stall traffic. */
  lockTimeoutMs?: number;
  /** Told what the operator must put right (a role missing, settings it may not store). */
  onWarning?: (message: string) => void;
}

/**
 * Applies every pending migration in one transaction; returns the names
 * applied. Then, every time: the grants of the service's role, its session
 * settings, and a fixed search_path on every function of the schema.
 * Migrations take as long as they take (no statement timeout) but wait for
 * locks at most `lockTimeoutMs` (a lock_not_available error to retry).
 */
export async function migrateUp(sql: Sql, options: MigrateUpOptions = {}): Promise<string[]> {
  const migrations = await loadMigrations(options.dir);
  return sql.begin(async (tx) => {
    await tx`SELECT set_config('statement_timeout', '0', true)`;
    if (options.lockTimeoutMs !== undefined) await tx`SELECT set_config('lock_timeout', ${`${options.lockTimeoutMs}ms`}, true)`;
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`;
    if (options.schema) await tx`CREATE SCHEMA IF NOT EXISTS ${tx(options.schema)}`;
    await ensureTable(tx);
    const applied = new Map(
      (await tx<{ version: number; checksum: string | null }[]>`SELECT version, checksum FROM schema_migrations`).map((r) => [r.version, r.checksum]),
    );
    const done: string[] = [];
    for (const migration of migrations) {
      const name = `${migration.version}_${migration.name}`;
      if (applied.has(migration.version)) {
        const recorded = applied.get(migration.version);
        if (recorded === null) {
          // Applied before checksums were kept: what the file says now is recorded.
          await tx`UPDATE schema_migrations SET checksum = ${checksumOf(migration)} WHERE version = ${migration.version}`;
        } else if (recorded !== checksumOf(migration)) {
          throw new MigrationChangedError(name);
        }
        continue;
      }
      await tx.unsafe(migration.up);
      await tx`INSERT INTO schema_migrations (version, name, checksum) VALUES (${migration.version}, ${migration.name}, ${checksumOf(migration)})`;
      done.push(name);
    }
    await pinFunctions(tx);
    if (options.grantTo && !(await applyGrants(tx, options.grantTo))) {
      options.onWarning?.(
        `DB_APP_ROLE ${options.grantTo} does not exist, so nothing was granted to it: create it (NOLOGIN), grant it to the service's login, and run migrate again (docs/deployment.md)`,
      );
    }
    if (options.serviceLogin) {
      const { name, settings } = options.serviceLogin;
      try {
        await tx.savepoint((sp) => applyRoleSettings(sp, name, settings));
      } catch (error) {
        options.onWarning?.(
          `the session settings of ${name} were not stored (${(error as Error).message}); run as a superuser or a role with CREATEROLE: ` +
            Object.entries(settings).map(([k, v]) => `ALTER ROLE ${quoteIdentifier(name)} IN DATABASE <database> SET ${k} = ${quoteLiteral(v)};`).join(" "),
        );
      }
    }
    return done;
  });
}

/**
 * Every function of the schema runs with search_path = the schema,
 * pg_catalog, pg_temp: whatever the caller's search_path, a name in a
 * function never resolves to an object someone planted in another schema.
 * (The schema comes first because functions create partitions in it; only
 * its owner can create objects there. Built-ins are also written qualified,
 * pg_catalog.unnest, since a better-typed function of the same name would
 * win over them wherever it sits on the path.) Idempotent; covers functions
 * added later, and alters only those without a search_path yet: every
 * replica migrates at start-up, and altering a function invalidates the
 * plans cached on every connection.
 */
async function pinFunctions(tx: TransactionSql) {
  const functions = await tx<{ signature: string; schema: string }[]>`
    SELECT p.oid::regprocedure::text AS signature, n.nspname AS schema
    FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname = current_schema() AND p.prokind = 'f'
      AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e')
      AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS setting WHERE setting LIKE 'search_path=%')`;
  for (const { signature, schema } of functions) {
    await tx.unsafe(`ALTER FUNCTION ${signature} SET search_path = ${quoteIdentifier(schema)}, pg_catalog, pg_temp`);
  }
}

/** Session defaults of the service's login in this database, so its connections need no startup parameters. */
async function applyRoleSettings(tx: TransactionSql, login: string, settings: Record<string, string>) {
  const [database] = await tx<{ name: string }[]>`SELECT current_database() AS name`;
  for (const [name, value] of Object.entries(settings)) {
    await tx.unsafe(`ALTER ROLE ${quoteIdentifier(login)} IN DATABASE ${quoteIdentifier(database!.name)} SET ${name} = ${quoteLiteral(value)}`);
  }
}

export function quoteIdentifier(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Reverts the most recently applied migration; returns its name, or
 * undefined if none. As migrateUp: no statement timeout, locks waited for at
 * most `lockTimeoutMs`, and the service's role granted what the reverted
 * schema has (a down may recreate a table the previous release reads).
 */
export async function migrateDown(sql: Sql, options: Pick<MigrateUpOptions, "dir" | "grantTo" | "lockTimeoutMs"> = {}): Promise<string | undefined> {
  const migrations = await loadMigrations(options.dir);
  return sql.begin(async (tx) => {
    await tx`SELECT set_config('statement_timeout', '0', true)`;
    if (options.lockTimeoutMs !== undefined) await tx`SELECT set_config('lock_timeout', ${`${options.lockTimeoutMs}ms`}, true)`;
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`;
    await ensureTable(tx);
    const [last] = await tx<{ version: number }[]>`
      SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1`;
    if (!last) return undefined;
    const migration = migrations.find((m) => m.version === last.version);
    if (!migration) throw new Error(`migration ${last.version} is applied but its file is missing`);
    if (migration.down) await tx.unsafe(migration.down);
    // A down that restores a function (CREATE OR REPLACE) drops its pinned search_path.
    await pinFunctions(tx);
    if (options.grantTo) await applyGrants(tx, options.grantTo);
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
