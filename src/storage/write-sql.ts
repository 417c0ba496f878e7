import type { Sql, TransactionSql } from "postgres";
import type { NewEvent } from "./event-store";

/**
 * The statements that write events. Kept apart from the store so the
 * benchmark's raw ceiling sends exactly the SQL the service sends.
 */
/** A client or a transaction: anything that runs tagged SQL. */
export type Db = Sql | TransactionSql;

/** A batch as five parallel columns: five array parameters however many rows. */
export interface EventColumns {
  ids: string[];
  types: string[];
  services: string[];
  timestamps: string[];
  payloads: string[];
}

export function toColumns(rows: NewEvent[]): EventColumns {
  return {
    ids: rows.map((r) => r.eventId),
    types: rows.map((r) => r.eventType),
    services: rows.map((r) => r.serviceName),
    timestamps: rows.map((r) => r.timestamp),
    payloads: rows.map((r) => r.payloadJson),
  };
}

/** The origin count slots and time buckets are aligned to. */
export const EPOCH = "1970-01-01T00:00:00Z";

export interface InsertedRow {
  event_id: string;
  event_type: string;
  service_name: string;
  ts: Date;
}

/**
 * Inserts a batch, skipping ids the tenant already has, and returns what was
 * new. Payloads travel as text and are cast per element: a JSON string inside
 * a jsonb[] parameter would be stored as a JSON string, not an object.
 */
export function insertEvents(db: Db, tenantId: string, c: EventColumns) {
  return db<InsertedRow[]>`
    INSERT INTO events (tenant_id, event_id, event_type, service_name, ts, payload)
    SELECT ${tenantId}, e.event_id, e.event_type, e.service_name, e.ts, e.payload::jsonb
    FROM unnest(
      ${c.ids}::text[],
      ${c.types}::text[],
      ${c.services}::text[],
      ${c.timestamps}::timestamptz[],
      ${c.payloads}::text[]
    ) AS e(event_id, event_type, service_name, ts, payload)
    ON CONFLICT (tenant_id, event_id) DO NOTHING
    RETURNING event_id, event_type, service_name, ts`;
}

/**
 * CTE parts that add the rows of a relation named `inserted` to the
 * per-minute, per-5-minute and per-hour counts. Sorted so concurrent
 * transactions lock count rows in one order; UTC so slots are the same as in queries.
 */
function countUpserts(db: Db, tenantId: string) {
  return db`
    per_minute AS (
      INSERT INTO event_counts_minute AS c (tenant_id, minute, event_type, service_name, count)
      SELECT ${tenantId}, date_trunc('minute', ts, 'UTC'), event_type, service_name, count(*)
      FROM inserted GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
      ON CONFLICT (tenant_id, minute, event_type, service_name) DO UPDATE SET count = c.count + EXCLUDED.count
    ),
    per_5min AS (
      INSERT INTO event_counts_5min AS c (tenant_id, slot, event_type, service_name, count)
      SELECT ${tenantId}, date_bin('5 minutes', ts, ${EPOCH}::timestamptz), event_type, service_name, count(*)
      FROM inserted GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
      ON CONFLICT (tenant_id, slot, event_type, service_name) DO UPDATE SET count = c.count + EXCLUDED.count
    ),
    per_hour AS (
      INSERT INTO event_counts_hour AS c (tenant_id, hour, event_type, service_name, count)
      SELECT ${tenantId}, date_trunc('hour', ts, 'UTC'), event_type, service_name, count(*)
      FROM inserted GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
      ON CONFLICT (tenant_id, hour, event_type, service_name) DO UPDATE SET count = c.count + EXCLUDED.count
    )`;
}

/**
 * Inserts a batch and counts what was new, in one statement: the count rows
 * it locks are held only until the commit that follows. Returns the ids
 * actually inserted.
 */
export function insertAndCount(db: Db, tenantId: string, c: EventColumns) {
  return db<{ event_id: string }[]>`
    WITH inserted AS (${insertEvents(db, tenantId, c)}),
    ${countUpserts(db, tenantId)}
    SELECT event_id FROM inserted`;
}

/** Counts rows inserted by earlier statements of the same transaction (batches of several chunks). */
export function countInserted(db: Db, tenantId: string, inserted: InsertedRow[]) {
  return db`
    WITH inserted AS (
      SELECT * FROM unnest(
        ${inserted.map((r) => r.event_type)}::text[],
        ${inserted.map((r) => r.service_name)}::text[],
        ${inserted.map((r) => r.ts.toISOString())}::timestamptz[]
      ) AS i(event_type, service_name, ts)
    ),
    ${countUpserts(db, tenantId)}
    SELECT 1`;
}
