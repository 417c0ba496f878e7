import postgres, { type Options } from "postgres";
import type { Logger } from "pino";
import { databaseUrl, type Config } from "../config";
import { startEmbeddedPostgres } from "./embedded";
import { isTransientStorageError, StorageUnavailableError } from "./errors";
import { ensurePartitions } from "./maintenance";
import { runMigrations, sessionSettings } from "./migrate";
import { inspectServiceRole } from "./service-role";
import { createPostgresEventStore, type PostgresEventStore } from "./postgres-store";
import { postgresIso } from "./sql-filters";

export interface OpenedStore extends PostgresEventStore {
  /** Where the data lives, for the start-up log line (never credentials). */
  location: string;
  /** Settles when the store is ready; rejects only on a non-transient migration error. */
  migration: Promise<void>;
}

/** Longest wait before reconnecting a closed connection (seconds). */
const RECONNECT_BACKOFF_MAX_S = 0.5;

/** Client settings shared by the real server and the embedded store. */
export function clientOptions(config: Config): Options<{}> {
  return {
    max: config.DB_POOL_MAX,
    connect_timeout: Math.max(1, Math.ceil(config.DB_ACQUIRE_TIMEOUT_MS / 1000)),
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    // PgBouncer in transaction mode hands each transaction any server
    // connection, where a statement prepared on another does not exist.
    prepare: config.DB_PREPARE,
    // Seconds before a closed connection reconnects. The driver's default grows
    // 3^n (capped at 20 s) with failures shared by the whole pool, and queries
    // assigned to that connection wait the whole delay with no timeout: after
    // a few seconds of database outage every request hung for up to 20 s. Keep
    // it short and jittered; a refused connect costs nothing.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, RECONNECT_BACKOFF_MAX_S) * (0.5 + Math.random() / 2),
    onnotice: () => {},
    types: {
      // Replaces the driver's own timestamptz type, whose serializer sends
      // every value through a Date and throws on one Date cannot write, in
      // the middle of sending a statement (see tenant-scope.ts).
      date: { to: 1184, from: [1082, 1114, 1184], serialize: serializeTimestamp, parse: (text: string) => new Date(text) },
    },
    connection: {
      application_name: "telemetry-vault",
      // PgBouncer refuses other startup parameters: there, migrate has stored them on the service's role.
      ...(config.DB_PGBOUNCER ? {} : sessionSettings(config)),
    } as Record<string, string | number>,
  };
}

/**
 * Timestamps as the driver sends them: the service binds validated ISO text
 * (sql-filters.ts instant), passed as it is; a Date is written in ISO form.
 * Never throws: anything else goes as its text, for PostgreSQL to refuse
 * as an ordinary error that rolls back and returns the connection.
 */
function serializeTimestamp(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return postgresIso(value);
  return String(value);
}

/** Runs `work` until it succeeds, retrying only while the database is unreachable. */
async function retryWhileUnreachable<T>(work: () => Promise<T>, logger?: Logger, retryMs = 500): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isTransientStorageError(error)) throw error;
      if (attempt === 1) logger?.warn({ err: error }, "database not reachable yet; will keep trying");
      await Bun.sleep(retryMs);
    }
  }
}

/**
 * Opens the event store named by the config: PostgreSQL when DATABASE_URL or
 * DB_HOST is set, otherwise the embedded store in DATA_DIR. The store itself
 * is built once the schema is migrated; on PostgreSQL the service may start
 * first (the database may come up later), and until then every operation
 * answers "unavailable" (503) and readiness says the database is down.
 */
export async function openStore(config: Config, logger: Logger): Promise<OpenedStore> {
  const url = databaseUrl(config);
  if (url) {
    const sql = postgres(url, clientOptions(config));
    const ready = (async () => {
      if (config.MIGRATE_ON_START) await runMigrations(config, logger, { waitForDatabase: "forever" });
      const appRole = await retryWhileUnreachable(() => inspectServiceRole(sql, config, logger));
      // Writes need the partitions of now; maintenance keeps creating them ahead.
      await retryWhileUnreachable(() => ensurePartitions(sql, config.PARTITION_HOURS));
      return createPostgresEventStore({
        sql,
        kind: "postgres",
        poolMax: config.DB_POOL_MAX,
        writeConcurrency: config.DB_WRITE_CONCURRENCY,
        acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
        appRole,
        selectiveKeys: config.DB_SEARCH_SELECTIVE_KEYS,
      });
    })();
    const { hostname, port, pathname } = new URL(url);
    return startingStore(ready, { kind: "postgres", sql, location: `${hostname}:${port || 5432}${pathname}` });
  }

  const embedded = await startEmbeddedPostgres(config.DATA_DIR);
  // PGlite is a single session: several client connections would interleave
  // their transactions, so the pool is exactly one connection.
  const sql = postgres({ ...clientOptions(config), ...embedded.connection, max: 1 });
  await runMigrations(config, logger, { target: embedded.connection, waitForDatabase: "bounded" });
  await ensurePartitions(sql, config.PARTITION_HOURS);
  const store = createPostgresEventStore({
    sql,
    kind: "embedded",
    poolMax: 1,
    writeConcurrency: 1,
    acquireTimeoutMs: Math.max(config.DB_ACQUIRE_TIMEOUT_MS, 5000),
    appRole: await inspectServiceRole(sql, config, logger, { embedded: true }),
    selectiveKeys: config.DB_SEARCH_SELECTIVE_KEYS,
  });
  return {
    ...store,
    location: embedded.dataDir,
    migration: Promise.resolve(),
    async close() {
      await store.close();
      await embedded.close();
    },
  };
}

/**
 * The store while it is being prepared: every operation answers
 * "unavailable" until `ready` settles with the store, then hands over to it.
 */
function startingStore(ready: Promise<PostgresEventStore>, about: { kind: string; sql: postgres.Sql; location: string }): OpenedStore {
  let store: PostgresEventStore | undefined;
  const migration = ready.then((built) => {
    store = built;
  });
  const current = () => {
    if (!store) throw new StorageUnavailableError("database schema is not migrated yet");
    return store;
  };
  return {
    ...about,
    migration,
    ingest: (tenantId, events) => Promise.resolve().then(() => current().ingest(tenantId, events)),
    ingestChunks: (tenantId, chunks) => Promise.resolve().then(() => current().ingestChunks(tenantId, chunks)),
    resolveSearch: (filter) => Promise.resolve().then(() => current().resolveSearch(filter)),
    findEvents: (filter, page) => Promise.resolve().then(() => current().findEvents(filter, page)),
    countEvents: (filter) => Promise.resolve().then(() => current().countEvents(filter)),
    groupCounts: (filter, by) => Promise.resolve().then(() => current().groupCounts(filter, by)),
    timeBuckets: (filter, interval, by) => Promise.resolve().then(() => current().timeBuckets(filter, interval, by)),
    eventsByKeys: (tenantId, keys) => Promise.resolve().then(() => current().eventsByKeys(tenantId, keys)),
    traceEvents: (tenantId, traceId, limit, after) => Promise.resolve().then(() => current().traceEvents(tenantId, traceId, limit, after)),
    ping: () => Promise.resolve().then(() => current().ping()),
    withTenant: (tenantId, work, options) => Promise.resolve().then(() => current().withTenant(tenantId, work, options)),
    deleteEvents: (filter) => Promise.resolve().then(() => current().deleteEvents(filter)),
    usage: (tenantId, fromDay, toDay) => Promise.resolve().then(() => current().usage(tenantId, fromDay, toDay)),
    recordRateLimited: (tenantId, count) => Promise.resolve().then(() => current().recordRateLimited(tenantId, count)),
    get appRole() {
      return store?.appRole;
    },
    poolStats: () => store?.poolStats() ?? { inUse: 0, waiting: 0 },
    close: () => (store ? store.close() : about.sql.end({ timeout: 5 })),
  };
}
