import postgres from "postgres";
import { databaseUrl, type Config } from "../config";
import { isTransientStorageError } from "./errors";
import { migrateUp, type MigrateUpOptions } from "./migrations";

export interface MigrationLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** A migration that could not finish: it stops start-up (and `bun run migrate`) with this message. */
export class MigrationFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationFailedError";
  }
}

/**
 * Migrates as the tables' owner (MIGRATION_DATABASE_URL, else the service's
 * own connection) on a connection of its own: no statement timeout (a slow
 * migration is not a failure), a short lock timeout (DDL waiting behind a
 * long transaction would stall every query queued behind it), retried with
 * backoff for at most MIGRATION_MAX_WAIT_S. An unreachable database is
 * waited for as long (or forever with `waitForDatabase: "forever"`, the
 * service at start-up); anything else fails at once.
 */
export async function runMigrations(
  config: Config,
  logger: MigrationLogger,
  options: { target?: postgres.Options<{}>; waitForDatabase: "forever" | "bounded"; dir?: string },
): Promise<string[]> {
  const ownerUrl = config.MIGRATION_DATABASE_URL ?? databaseUrl(config);
  const clientOptions: postgres.Options<{}> = {
    max: 1,
    onnotice: () => {},
    connect_timeout: 5,
    connection: {
      application_name: "telemetry-vault-migrate",
      ...(config.DB_SCHEMA ? { search_path: config.DB_SCHEMA } : {}),
    } as Record<string, string>,
  };
  const sql = options.target ? postgres({ ...clientOptions, ...options.target }) : postgres(ownerUrl!, clientOptions);
  const migrateOptions: MigrateUpOptions = {
    dir: options.dir,
    schema: config.DB_SCHEMA,
    grantTo: config.DB_APP_ROLE === "none" ? undefined : config.DB_APP_ROLE,
    serviceLogin: options.target ? undefined : await serviceLogin(config, ownerUrl!),
    lockTimeoutMs: config.MIGRATION_LOCK_TIMEOUT_MS,
    onWarning: (message) => logger.warn({}, message),
  };
  const deadline = Date.now() + config.MIGRATION_MAX_WAIT_S * 1000;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const applied = await migrateUp(sql, migrateOptions);
        if (applied.length > 0) logger.info({ applied }, "migrations applied");
        return applied;
      } catch (error) {
        const lockWait = error instanceof postgres.PostgresError && error.code === "55P03";
        const unreachable = !lockWait && isTransientStorageError(error) && !(error instanceof postgres.PostgresError && error.code === "57014");
        const mayWait = Date.now() < deadline || (unreachable && options.waitForDatabase === "forever");
        if ((lockWait || unreachable) && mayWait) {
          if (attempt === 1) {
            logger.warn(
              { err: (error as Error).message },
              lockWait
                ? "migrations wait for a lock (another migration, or a long transaction on a table they change); retrying"
                : "database not reachable yet for migrations; retrying",
            );
          }
          await Bun.sleep(Math.min(200 * 2 ** Math.min(attempt, 5), 5000) * (0.5 + Math.random() / 2));
          continue;
        }
        if (lockWait || unreachable) {
          throw new MigrationFailedError(
            `migrations gave up after ${config.MIGRATION_MAX_WAIT_S} s (MIGRATION_MAX_WAIT_S): ${lockWait ? "a lock they need stayed held" : "the database stayed unreachable"} (${(error as Error).message})`,
            { cause: error },
          );
        }
        throw new MigrationFailedError(`migration failed: ${(error as Error).message}`, { cause: error });
      }
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * The service's login, when migrations run as someone else (or behind
 * PgBouncer): its session settings are stored on the role, so its
 * connections need no startup parameters.
 */
async function serviceLogin(config: Config, ownerUrl: string): Promise<MigrateUpOptions["serviceLogin"]> {
  const url = databaseUrl(config);
  if (!url) return undefined;
  const login = decodeURIComponent(new URL(url).username || "postgres");
  const owner = decodeURIComponent(new URL(ownerUrl).username || "postgres");
  if (login === owner && !config.DB_PGBOUNCER) return undefined;
  return { name: login, settings: sessionSettings(config) };
}

/** What every service session runs with: as startup parameters, or stored on the role (DB_PGBOUNCER). */
export function sessionSettings(config: Config): Record<string, string> {
  return {
    statement_timeout: `${config.DB_STATEMENT_TIMEOUT_MS}ms`,
    idle_in_transaction_session_timeout: `${config.DB_STATEMENT_TIMEOUT_MS}ms`,
    // A 200 means committed and flushed: never let a session relax this.
    synchronous_commit: "on",
    // Window queries vary wildly in selectivity; a generic plan cached by
    // prepared statements can be 5x slower than a custom one.
    plan_cache_mode: "force_custom_plan",
    ...(config.DB_SCHEMA ? { search_path: config.DB_SCHEMA } : {}),
  };
}
