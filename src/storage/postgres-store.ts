import type { Sql } from "postgres";
import { ConnectionGate } from "./connection-gate";
import { createEventReader } from "./event-reader";
import type { EventStore } from "./event-store";
import { createEventWriter } from "./event-writer";
import { deleteEvents, recordRateLimited, usage } from "./lifecycle";
import { createTenantScope, type TenantScope } from "./tenant-scope";

/** A tenant no key maps to (API keys name tenants of letters, digits, . _ -): readiness reads as it. */
const READINESS_TENANT = "readiness probe";

export interface PostgresStoreOptions {
  sql: Sql;
  /** "postgres" or "embedded": reported by readiness and the start-up log. */
  kind: string;
  /** Same as the client's pool size: the gate never lets more operations run. */
  poolMax: number;
  /** Large-batch ingest statements at once (at most poolMax); see DB_WRITE_CONCURRENCY. */
  writeConcurrency: number;
  acquireTimeoutMs: number;
  /** Role each transaction switches to so row-level security applies (sql/003), if the user may. */
  appRole: string | undefined;
  /** Free text matching fewer events than this is read by their keys (search-keys.ts). */
  selectiveKeys: number;
}

export interface PostgresEventStore extends EventStore {
  poolStats(): { inUse: number; waiting: number };
  /** Statements of one tenant in one transaction (tenant-scope.ts), for features beyond the reader and writer. */
  withTenant: TenantScope["run"];
  /** The role each transaction switches to, if the service does (maintenance passes it on). */
  appRole: string | undefined;
  /** The underlying client, for migrations and operational tooling. */
  sql: Sql;
}

/**
 * The EventStore on PostgreSQL (or PGlite through the same wire protocol), on
 * a migrated schema: a writer and a reader sharing one pool gate, which
 * bounds how many operations hold connections and how long one may wait.
 */
export function createPostgresEventStore(options: PostgresStoreOptions): PostgresEventStore {
  const { sql, kind, poolMax, acquireTimeoutMs, appRole } = options;
  const gate = new ConnectionGate(poolMax, acquireTimeoutMs);
  const writer = createEventWriter({ sql, gate, appRole, poolMax, writeConcurrency: options.writeConcurrency, acquireTimeoutMs });
  const scope = createTenantScope(sql, gate, appRole);
  const reader = createEventReader(scope, { selectiveKeys: options.selectiveKeys });
  return {
    kind,
    sql,
    ingest: writer.ingest,
    ingestChunks: writer.ingestChunks,
    ...reader,
    poolStats: () => gate.stats,
    withTenant: scope.run,
    appRole,
    deleteEvents: (filter) => deleteEvents(scope, appRole, filter),
    usage: (tenantId, fromDay, toDay) => usage(scope, tenantId, fromDay, toDay),
    recordRateLimited: (tenantId, count) => recordRateLimited(scope, appRole, tenantId, count),
    // Readiness: as the service's role, in a tenant's transaction, reading the
    // events: missing grants or a wrong search_path show as not ready here,
    // not as 500s behind a green probe.
    async ping() {
      await scope.run(READINESS_TENANT, (tx) => tx`SELECT 1 FROM events_all LIMIT 1`);
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
