import type { Sql, TransactionSql } from "postgres";
import type { NewEvent } from "../events/event-types";
import { StorageUnavailableError } from "./errors";

/**
 * The statements that write events (sql/007): kept apart from the writer so
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
  searchTexts: string[];
  traceIds: (string | null)[];
}

export function toColumns(rows: NewEvent[]): EventColumns {
  return {
    ids: rows.map((r) => r.eventId),
    types: rows.map((r) => r.eventType),
    services: rows.map((r) => r.serviceName),
    timestamps: rows.map((r) => r.timestamp),
    payloads: `[${rows.map((r) => r.payloadJson).join(",")}]`,
    sizes: rows.map((r) => r.payloadBytes),
    searchTexts: rows.map((r) => r.searchText),
    traceIds: rows.map((r) => r.traceId),
  };
}

/** The origin count slots and time buckets are aligned to. */
export const EPOCH = "1970-01-01T00:00:00Z";

/** An event's identity: the same id at another timestamp is another event (README, "Ingest"). */
export function identity(eventId: string, timestamp: string): string {
  return `${eventId}\u0000${timestamp}`;
}

/** The event id and timestamp an identity was made of (ids hold no NUL). */
export function identityParts(key: string): { eventId: string; timestamp: string } {
  const at = key.indexOf("\u0000");
  return { eventId: key.slice(0, at), timestamp: key.slice(at + 1) };
}

/**
 * Payload bytes one write statement carries at most. The driver copies a
 * statement's parameters several times on its way to the socket; a batch
 * above this is written in chunks of one transaction, so those copies stay
 * this small (bench/README.md, "limits").
 */
export const WRITE_CHUNK_BYTES = 1024 * 1024;

/**
 * Writes rows unique by identity and sorted by it, counts what was new and
 * records the tenant's usage; returns the identities actually inserted.
 * `offered` is how many events the requests sent (the others are
 * duplicates). A batch within WRITE_CHUNK_BYTES is one autocommit statement
 * (ingest_events: one round trip, count rows locked only for its commit); a
 * larger one is insert_events per chunk, in order, then count_events and
 * record_usage once, in one transaction: all or nothing either way.
 * Returns what was inserted, for the answer and for live tails.
 */
export async function writeRows(sql: Sql, tenantId: string, appRole: string | undefined, rows: NewEvent[], offered: number): Promise<WrittenRows> {
  const chunks = chunkByBytes(rows, WRITE_CHUNK_BYTES);
  if (chunks.length === 1) {
    const inserted = await ingestBatch(sql, tenantId, appRole, toColumns(rows), offered);
    return {
      identities: sentOnly(rows, inserted.map((r) => identity(r.event_id, r.ts.toISOString()))),
      receivedAt: inserted[0]?.received_at ?? new Date(),
    };
  }
  return writeChunks(sql, tenantId, appRole, chunks, () => offered);
}

/**
 * Chunks of rows, each unique by identity and sorted by it, in one
 * transaction: insert_events per chunk as the iterable hands it over, then
 * count_events and record_usage once. A row an earlier chunk inserted is a
 * duplicate in a later one (its insert conflicts). `offered` is read after
 * the last chunk. Whatever the iterable throws rolls it all back.
 */
export async function writeChunks(sql: Sql, tenantId: string, appRole: string | undefined, chunks: Iterable<NewEvent[]>, offered: () => number): Promise<WrittenRows> {
  return (await sql.begin(async (tx) => {
    const inserted: InsertedRow[] = [];
    const identities: string[] = [];
    for (const chunk of chunks) {
      for (const part of chunkByBytes(chunk, WRITE_CHUNK_BYTES)) {
        if (part.length === 0) continue;
        const returned = await insertChunk(tx, tenantId, appRole, toColumns(part));
        identities.push(...sentOnly(part, returned.map((r) => identity(r.event_id, r.iso))));
        inserted.push(...returned);
      }
    }
    if (inserted.length > 0) await countInserted(tx, tenantId, appRole, inserted);
    const bytes = inserted.reduce((sum, r) => sum + r.payload_size, 0);
    const [usage] = await tx<{ now: Date }[]>`SELECT record_usage(${tenantId}, ${appRole ?? null}, ${inserted.length}, ${offered() - inserted.length}, ${bytes}), now()`;
    return { identities, receivedAt: usage!.now };
  })) as WrittenRows;
}

/**
 * The identities a statement says it inserted, which must be rows it was
 * sent. After the database terminated connections under load, postgres.js
 * once handed one statement another's rows too (223 "inserted" of 120 sent,
 * tests/faults/killed-connections.test.ts). Such an answer is not passed on:
 * 503 (a chunked write rolls back), and the client's retry is answered
 * exactly, since ingest is idempotent.
 */
function sentOnly(rows: NewEvent[], identities: string[]): string[] {
  const sent = identities.length <= rows.length ? new Set(rows.map((r) => identity(r.eventId, r.timestamp))) : undefined;
  if (!sent || !identities.every((key) => sent.has(key))) {
    throw new StorageUnavailableError("database answer did not match the statement");
  }
  return identities;
}

/** The identities inserted, and the transaction's time (every row's received_at). */
export interface WrittenRows {
  identities: string[];
  receivedAt: Date;
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
 * One batch in one autocommit statement (sql/007 ingest_events), which
 * enters the tenant for its own transaction. Payloads and timestamps are
 * bound as text and cast: a string bound to a jsonb parameter would be
 * JSON-encoded again, and text arrays skip the driver's Date handling.
 */
export function ingestBatch(db: Db, tenantId: string, appRole: string | undefined, c: EventColumns, offered: number) {
  // now() is the transaction's start, the time the function stored as received_at.
  return db<{ event_id: string; ts: Date; received_at: Date }[]>`
    SELECT event_id, ts, now() AS received_at
    FROM ingest_events(
      ${tenantId}, ${appRole ?? null},
      ${c.ids}::text[], ${c.types}::text[], ${c.services}::text[], ${c.timestamps}::text[]::timestamptz[],
      ${c.payloads}::text::jsonb, ${c.sizes}::int4[], ${c.searchTexts}::text[], ${c.traceIds}::text[], ${offered}
    )`;
}

interface InsertedRow {
  event_id: string;
  event_type: string;
  service_name: string;
  /** UTC text, handed straight back to count_events whatever the session's DateStyle. */
  ts: string;
  /** The same instant as toISOString writes it, for the row's identity. */
  iso: string;
  count_level: string;
  payload_size: number;
}

function insertChunk(tx: TransactionSql, tenantId: string, appRole: string | undefined, c: EventColumns) {
  return tx<InsertedRow[]>`
    SELECT event_id, event_type, service_name, count_level, payload_size,
           to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts,
           to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS iso
    FROM insert_events(
      ${tenantId}, ${appRole ?? null},
      ${c.ids}::text[], ${c.types}::text[], ${c.services}::text[], ${c.timestamps}::text[]::timestamptz[],
      ${c.payloads}::text::jsonb, ${c.sizes}::int4[], ${c.searchTexts}::text[], ${c.traceIds}::text[]
    )`;
}

function countInserted(tx: TransactionSql, tenantId: string, appRole: string | undefined, rows: InsertedRow[]) {
  return tx`
    SELECT count_events(
      ${tenantId}, ${appRole ?? null},
      ${rows.map((r) => r.event_type)}::text[], ${rows.map((r) => r.service_name)}::text[],
      ${rows.map((r) => r.ts)}::text[]::timestamptz[], ${rows.map((r) => r.count_level)}::text[]
    )`;
}
