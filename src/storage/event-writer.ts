import type { Sql } from "postgres";
import { ConnectionGate } from "./connection-gate";
import { translateStorageError } from "./errors";
import type { NewEvent } from "../events/event-types";
import type { IngestResult } from "./event-store";
import { GroupCommitter } from "./group-commit";
import { identity, writeChunks, writeRows, type WrittenRows } from "./write-sql";

/** Requests this small share transactions (group commit); larger ones get their own. */
const GROUP_COMMIT_MAX_REQUEST_EVENTS = 100;
const GROUP_COMMIT_MAX_GROUP_EVENTS = 2000;

export interface EventWriterOptions {
  sql: Sql;
  /** The pool's gate, shared with the reader. */
  gate: ConnectionGate;
  appRole: string | undefined;
  poolMax: number;
  /** Large-batch statements at once (DB_WRITE_CONCURRENCY, at most poolMax). */
  writeConcurrency: number;
  acquireTimeoutMs: number;
}

export interface EventWriter {
  /** Stores events for one tenant, all or nothing; resolves only after commit. */
  ingest(tenantId: string, events: NewEvent[]): Promise<IngestResult>;
  /** The same for events handed over in chunks, each asked for once the one before is written. */
  ingestChunks(tenantId: string, chunks: Iterable<NewEvent[]>): Promise<IngestResult>;
}

/**
 * Ingest: small requests go through the group committer, which writes many
 * in one transaction with two slots of its own; larger ones take turns at
 * the batch gate (DB_WRITE_CONCURRENCY), so a backlog of large batches never
 * delays small requests and queries keep the rest of the pool. Either way a
 * request waits at most acquireTimeoutMs in all before 503.
 */
export function createEventWriter(options: EventWriterOptions): EventWriter {
  const { sql, gate, appRole, acquireTimeoutMs } = options;
  const batchGate = new ConnectionGate(Math.min(options.writeConcurrency, options.poolMax), acquireTimeoutMs);

  async function write(tenantId: string, unique: NewEvent[], offered: number, deadline?: number): Promise<WrittenRows> {
    const rows = sortedByIdentity(unique);
    try {
      return await gate.run(() => writeRows(sql, tenantId, appRole, rows, offered), deadline);
    } catch (error) {
      translateStorageError(error);
    }
  }

  const groupCommitter = new GroupCommitter((tenantId, unique, offered) => write(tenantId, unique, offered), {
    // Two keep one group filling while the other commits; the rest of the
    // pool stays free for queries and large batches (bench/README.md).
    maxInFlight: Math.min(2, options.poolMax),
    maxGroupEvents: GROUP_COMMIT_MAX_GROUP_EVENTS,
    maxQueueWaitMs: acquireTimeoutMs,
    // Queued requests are small (at most 100 events each); the cap only stops
    // an unbounded pile-up when the database cannot keep up.
    maxQueued: Math.max(4096, options.poolMax * 256),
  });

  async function ingest(tenantId: string, events: NewEvent[]): Promise<IngestResult> {
    if (events.length <= GROUP_COMMIT_MAX_REQUEST_EVENTS) return groupCommitter.submit(tenantId, events);
    const unique = firstOccurrences(events);
    // One wait budget for both gates.
    const deadline = Date.now() + acquireTimeoutMs;
    const written = await batchGate.run(() => write(tenantId, unique, events.length, deadline), deadline);
    return result(written, events.length);
  }

  /**
   * One transaction for all chunks, the first two taken before it starts:
   * an export of one chunk is an ordinary batch (group commit included).
   * Each chunk is sorted on its own, so two streams sharing events in
   * different orders can deadlock; PostgreSQL then fails one, a 503 its
   * client retries.
   */
  async function ingestChunks(tenantId: string, chunks: Iterable<NewEvent[]>): Promise<IngestResult> {
    const source = chunks[Symbol.iterator]();
    const taken = take(source, 2);
    // Nothing to store (every record refused): no transaction, as for an empty request.
    if (taken.length === 0) return { ingested: 0, duplicates: 0, committed: { identities: new Set(), receivedAt: new Date() } };
    if (taken.length === 1) return ingest(tenantId, taken[0]!);
    let offered = 0;
    const prepared = (function* () {
      for (const chunk of resumed(taken, source)) {
        offered += chunk.length;
        yield sortedByIdentity(firstOccurrences(chunk));
      }
    })();
    const deadline = Date.now() + acquireTimeoutMs;
    const written = await batchGate.run(async () => {
      try {
        return await gate.run(() => writeChunks(sql, tenantId, appRole, prepared, () => offered), deadline);
      } catch (error) {
        translateStorageError(error);
      }
    }, deadline);
    return result(written, offered);
  }

  return { ingest, ingestChunks };
}

/** Up to `count` items from the iterator. */
function take<T>(source: Iterator<T>, count: number): T[] {
  const taken: T[] = [];
  for (let next = source.next(); !next.done; next = source.next()) {
    taken.push(next.value);
    if (taken.length === count) break;
  }
  return taken;
}

/** The items taken, then the rest of the iterator; each taken item is let go as it is handed out. */
function* resumed<T>(taken: T[], rest: Iterator<T>): Generator<T> {
  while (taken.length > 0) yield taken.shift()!;
  for (let next = rest.next(); !next.done; next = rest.next()) yield next.value;
}

/** The first occurrence of each identity; later ones are duplicates. */
function firstOccurrences(events: NewEvent[]): NewEvent[] {
  const unique = new Map<string, NewEvent>();
  for (const event of events) {
    const key = identity(event.eventId, event.timestamp);
    if (!unique.has(key)) unique.set(key, event);
  }
  return [...unique.values()];
}

/** Sorted by identity, so concurrent overlapping batches lock rows in one order and cannot deadlock. */
function sortedByIdentity(events: NewEvent[]): NewEvent[] {
  return events
    .map((event) => ({ event, key: identity(event.eventId, event.timestamp) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ event }) => event);
}

function result({ identities, receivedAt }: WrittenRows, offered: number): IngestResult {
  return { ingested: identities.length, duplicates: offered - identities.length, committed: { identities: new Set(identities), receivedAt } };
}
