import type { Sql, TransactionSql } from "postgres";
import type { NewEvent } from "./event-store";

/**
 * The statement that writes events. Kept apart from the store so the
 * benchmark's raw ceiling sends exactly the SQL the service sends.
 */
/** A client or a transaction: anything that runs tagged SQL. */
export type Db = Sql | TransactionSql;

/** A batch as five parallel columns: five parameters however many rows. */
export interface EventColumns {
  ids: string[];
  types: string[];
  services: string[];
  timestamps: string[];
  /**
   * The payloads as one JSON array text. Joining the already serialized
   * objects is 10× cheaper than escaping each one into a text[] literal,
   * and PostgreSQL parses either at the same cost.
   */
  payloads: string;
  /** Stored payload sizes (see NewEvent.payloadBytes). */
  sizes: number[];
}

export function toColumns(rows: NewEvent[]): EventColumns {
  return {
    ids: rows.map((r) => r.eventId),
    types: rows.map((r) => r.eventType),
    services: rows.map((r) => r.serviceName),
    timestamps: rows.map((r) => r.timestamp),
    payloads: `[${rows.map((r) => r.payloadJson).join(",")}]`,
    sizes: rows.map((r) => r.payloadBytes),
  };
}

/** The origin count slots and time buckets are aligned to. */
export const EPOCH = "1970-01-01T00:00:00Z";

/**
 * Writes one batch and counts what was new, in one autocommit statement: the
 * function in sql/005_ingest_function.sql (with sizes: sql/006) sets the tenant and the
 * row-level-security role for its own transaction. Rows must be unique by id
 * and sorted by it. Returns the ids actually inserted. The payloads are bound
 * as text and cast: a string bound to a jsonb parameter would be JSON-encoded
 * again.
 */
export function ingestEvents(db: Db, tenantId: string, appRole: string | undefined, c: EventColumns) {
  return db<{ event_id: string }[]>`
    SELECT event_id
    FROM ingest_events(
      ${tenantId}, ${appRole ?? null},
      ${c.ids}::text[], ${c.types}::text[], ${c.services}::text[], ${c.timestamps}::timestamptz[],
      ${c.payloads}::text::jsonb, ${c.sizes}::int4[]
    ) AS event_id`;
}
