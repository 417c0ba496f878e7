import type { Sql, TransactionSql } from "postgres";
import type { NewEvent } from "../events/event-types";

/**
 * The statements that write events (sql/006): kept apart from the writer so
 * the benchmark's raw ceiling sends exactly the SQL the service sends.
 */
/** A client or a transaction: anything that runs tagged SQL. */
export type Db = Sql | TransactionSql;

/** A batch as parallel columns: the same few parameters however many rows. */
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
 * Payload bytes one write statement carries at most. The driver copies a
 * statement's parameters several times on its way to the socket; a batch
 * above this is written in chunks of one transaction, so those copies stay
 * this small (bench/README.md, "limits").
 */
export const WRITE_CHUNK_BYTES = 1024 * 1024;

/**
 * Writes rows unique by id and sorted by it, and counts what was new; returns
 * the ids actually inserted. A batch within WRITE_CHUNK_BYTES is one
 * autocommit statement (ingest_events: one round trip, count rows locked only
 * for its commit); a larger one is insert_events per chunk, in id order, then
 * count_events once, in one transaction: all or nothing either way.
 */
export async function writeRows(sql: Sql, tenantId: string, appRole: string | undefined, rows: NewEvent[]): Promise<string[]> {
  const chunks = chunkByBytes(rows, WRITE_CHUNK_BYTES);
  if (chunks.length === 1) return (await ingestBatch(sql, tenantId, appRole, toColumns(rows))).map((r) => r.event_id);
  return (await sql.begin(async (tx) => {
    const inserted: InsertedRow[] = [];
    for (const chunk of chunks) inserted.push(...(await insertChunk(tx, tenantId, appRole, toColumns(chunk))));
    if (inserted.length > 0) await countInserted(tx, tenantId, appRole, inserted);
    return inserted.map((r) => r.event_id);
  })) as string[];
}

function chunkByBytes(rows: NewEvent[], maxBytes: number): NewEvent[][] {
  const chunks: NewEvent[][] = [[]];
  let bytes = 0;
  for (const row of rows) {
    if (bytes + row.payloadBytes > maxBytes && chunks.at(-1)!.length > 0) {
      chunks.push([]);
      bytes = 0;
    }
    chunks.at(-1)!.push(row);
    bytes += row.payloadBytes;
  }
  return chunks;
}

/**
 * One batch in one autocommit statement (sql/006 ingest_events), which enters
 * the tenant for its own transaction. Payloads and timestamps are bound as
 * text and cast: a string bound to a jsonb parameter would be JSON-encoded
 * again, and timestamps bound as timestamptz would each go through a Date in
 * the driver (sql-filters.ts instant).
 */
export function ingestBatch(db: Db, tenantId: string, appRole: string | undefined, c: EventColumns) {
  return db<{ event_id: string }[]>`
    SELECT event_id
    FROM ingest_events(
      ${tenantId}, ${appRole ?? null},
      ${c.ids}::text[], ${c.types}::text[], ${c.services}::text[], ${c.timestamps}::text[]::timestamptz[],
      ${c.payloads}::text::jsonb, ${c.sizes}::int4[]
    ) AS event_id`;
}

interface InsertedRow {
  event_id: string;
  event_type: string;
  service_name: string;
  ts: string;
}

function insertChunk(tx: TransactionSql, tenantId: string, appRole: string | undefined, c: EventColumns) {
  // ts as UTC text: it goes straight back to count_events, whatever the session's DateStyle.
  return tx<InsertedRow[]>`
    SELECT event_id, event_type, service_name, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
    FROM insert_events(
      ${tenantId}, ${appRole ?? null},
      ${c.ids}::text[], ${c.types}::text[], ${c.services}::text[], ${c.timestamps}::text[]::timestamptz[],
      ${c.payloads}::text::jsonb, ${c.sizes}::int4[]
    )`;
}

function countInserted(tx: TransactionSql, tenantId: string, appRole: string | undefined, rows: InsertedRow[]) {
  return tx`
    SELECT count_events(
      ${tenantId}, ${appRole ?? null},
      ${rows.map((r) => r.event_type)}::text[], ${rows.map((r) => r.service_name)}::text[], ${rows.map((r) => r.ts)}::text[]::timestamptz[]
    )`;
}
