import type { Sql } from "postgres";
import { ConnectionGate } from "./connection-gate";
import { translateStorageError } from "./errors";
import type { NewEvent } from "../events/event-types";
import type { IngestResult } from "./event-store";
import { GroupCommitter } from "./group-commit";
import { identity, writeRows, type WrittenRows } from "./write-sql";

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

  /** Rows sorted by identity, so concurrent overlapping batches lock them in one order and cannot deadlock. */
  async function write(tenantId: string, unique: NewEvent[], offered: number, deadline?: number): Promise<WrittenRows> {
    const rows = unique
      .map((event) => ({ event, key: identity(event.eventId, event.timestamp) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(({ event }) => event);
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

  return {
    async ingest(tenantId, events) {
      if (events.length <= GROUP_COMMIT_MAX_REQUEST_EVENTS) return groupCommitter.submit(tenantId, events);
      // The first occurrence of an event wins; later ones are duplicates.
      const unique = new Map<string, NewEvent>();
      for (const event of events) {
        const key = identity(event.eventId, event.timestamp);
        if (!unique.has(key)) unique.set(key, event);
      }
      // One wait budget for both gates.
      const deadline = Date.now() + acquireTimeoutMs;
      const { identities, receivedAt } = await batchGate.run(() => write(tenantId, [...unique.values()], events.length, deadline), deadline);
      return { ingested: identities.length, duplicates: events.length - identities.length, committed: { identities: new Set(identities), receivedAt } };
    },
  };
}
