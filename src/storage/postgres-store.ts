import type { Sql, TransactionSql } from "postgres";
import { ConnectionGate } from "./connection-gate";
import { StorageUnavailableError, translateStorageError } from "./errors";
import type {
  EventFilter,
  EventStore,
  EventType,
  GroupBy,
  IngestResult,
  NewEvent,
  PageRequest,
  StoredEvent,
} from "./event-store";

export interface PostgresStoreOptions {
  sql: Sql;
  /** "postgres" or "embedded": reported by readiness and the start-up log. */
  kind: string;
  /** Same as the client's pool size: the gate never lets more operations run. */
  poolMax: number;
  acquireTimeoutMs: number;
  /** Rows per INSERT statement inside one ingest transaction. */
  insertChunkSize: number;
  /** False until the schema is migrated; operations answer "unavailable" meanwhile. */
  isSchemaReady?: () => boolean;
}

interface EventRow {
  event_id: string;
  event_type: EventType;
  service_name: string;
  ts: Date;
  payload: Record<string, unknown>;
  received_at: Date;
}

/**
 * The EventStore on PostgreSQL (or PGlite through the same wire protocol).
 * Every operation runs in a transaction that first sets `app.tenant_id`,
 * so row-level security policies can act as a second wall between tenants.
 */
export function createPostgresEventStore(options: PostgresStoreOptions): EventStore & {
  poolStats(): { inUse: number; waiting: number };
  /** The underlying client, for migrations and operational tooling. */
  sql: Sql;
} {
  const { sql, kind, insertChunkSize, isSchemaReady = () => true } = options;
  const gate = new ConnectionGate(options.poolMax, options.acquireTimeoutMs);

  function assertSchemaReady() {
    if (!isSchemaReady()) throw new StorageUnavailableError("database schema is not migrated yet");
  }

  async function inTenantTransaction<T>(tenantId: string, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
    assertSchemaReady();
    try {
      return (await gate.run(() =>
        sql.begin(async (tx) => {
          await tx`SELECT set_config('app.tenant_id', ${tenantId}, true)`;
          return work(tx);
        }),
      )) as T;
    } catch (error) {
      translateStorageError(error);
    }
  }

  function whereClause(tx: TransactionSql, filter: EventFilter) {
    return tx`
      tenant_id = ${filter.tenantId}
      AND ts BETWEEN ${filter.startTime} AND ${filter.endTime}
      ${filter.eventType ? tx`AND event_type = ${filter.eventType}` : tx``}
      ${filter.serviceName ? tx`AND service_name = ${filter.serviceName}` : tx``}
    `;
  }

  async function insertChunk(tx: TransactionSql, tenantId: string, rows: NewEvent[]): Promise<number> {
    // One statement with five array parameters, however many rows: unnest
    // turns them back into rows. Payloads travel as text and are cast per
    // element, because a JSON string inside jsonb[] would be stored as a JSON string.
    const inserted = await tx`
      INSERT INTO events (tenant_id, event_id, event_type, service_name, ts, payload)
      SELECT ${tenantId}, e.event_id, e.event_type, e.service_name, e.ts, e.payload::jsonb
      FROM unnest(
        ${rows.map((r) => r.eventId)}::text[],
        ${rows.map((r) => r.eventType)}::text[],
        ${rows.map((r) => r.serviceName)}::text[],
        ${rows.map((r) => r.timestamp)}::timestamptz[],
        ${rows.map((r) => r.payloadJson)}::text[]
      ) AS e(event_id, event_type, service_name, ts, payload)
      ON CONFLICT (tenant_id, event_id) DO NOTHING
      RETURNING 1`;
    return inserted.count;
  }

  return {
    kind,
    sql,
    poolStats: () => gate.stats,

    async ingest(tenantId, events): Promise<IngestResult> {
      // First occurrence of an id wins; sorting by id makes concurrent
      // overlapping batches take row locks in the same order (no deadlock).
      const unique = new Map<string, NewEvent>();
      for (const event of events) if (!unique.has(event.eventId)) unique.set(event.eventId, event);
      const rows = [...unique.values()].sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));

      const ingested = await inTenantTransaction(tenantId, async (tx) => {
        let count = 0;
        for (let start = 0; start < rows.length; start += insertChunkSize) {
          count += await insertChunk(tx, tenantId, rows.slice(start, start + insertChunkSize));
        }
        return count;
      });
      return { ingested, duplicates: events.length - ingested };
    },

    async findEvents(filter, page: PageRequest): Promise<StoredEvent[]> {
      const rows = await inTenantTransaction(filter.tenantId, (tx) => tx<EventRow[]>`
        SELECT event_id, event_type, service_name, ts, payload, received_at
        FROM events
        WHERE ${whereClause(tx, filter)}
          ${page.after ? tx`AND (ts, event_id) < (${page.after.timestamp}::timestamptz, ${page.after.eventId})` : tx``}
        ORDER BY ts DESC, event_id DESC
        LIMIT ${page.limit}
        ${page.after ? tx`` : tx`OFFSET ${(page.page - 1) * page.limit}`}`);
      return rows.map(toStoredEvent);
    },

    async countEvents(filter) {
      const [row] = await inTenantTransaction(filter.tenantId, (tx) => tx<{ total: number }[]>`
        SELECT count(*)::int AS total FROM events WHERE ${whereClause(tx, filter)}`);
      return row?.total ?? 0;
    },

    async groupCounts(filter, by: GroupBy) {
      const rows = await inTenantTransaction(filter.tenantId, (tx) => {
        const column = by === "service" ? tx`service_name` : tx`event_type`;
        return tx<{ key: string; count: number }[]>`
          SELECT ${column} AS key, count(*)::int AS count
          FROM events
          WHERE ${whereClause(tx, filter)}
          GROUP BY 1
          ORDER BY 2 DESC, 1`;
      });
      return rows.map((r) => ({ key: r.key, count: r.count }));
    },

    async ping() {
      assertSchemaReady();
      try {
        await gate.run(() => sql`SELECT 1`);
      } catch (error) {
        translateStorageError(error);
      }
    },

    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    eventType: row.event_type,
    serviceName: row.service_name,
    timestamp: row.ts.toISOString(),
    payload: row.payload,
    receivedAt: row.received_at.toISOString(),
  };
}
