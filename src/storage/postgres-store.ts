import type { Fragment, Sql, TransactionSql } from "postgres";
import { COUNT_LEVELS, planCounts, type CountLevel, type Range } from "./count-plan";
import { ConnectionGate } from "./connection-gate";
import { GroupCommitter } from "./group-commit";
import { EPOCH, ingestEvents, toColumns, type Db } from "./write-sql";
import { findSlot, SEEK_MIN_OFFSET, type SeekPoint } from "./offset-seek";
import { StorageUnavailableError, translateStorageError } from "./errors";
import {
  BUCKET_MINUTES,
  type BucketInterval,
  type EventFilter,
  type EventStore,
  type EventType,
  type GroupBy,
  type IngestResult,
  type NewEvent,
  type EventPage,
  type PageRequest,
  type StoredEvent,
  type TimeBucket,
} from "./event-store";

export interface PostgresStoreOptions {
  sql: Sql;
  /** "postgres" or "embedded": reported by readiness and the start-up log. */
  kind: string;
  /** Same as the client's pool size: the gate never lets more operations run. */
  poolMax: number;
  /** Large-batch ingest statements at once (at most poolMax); see DB_WRITE_CONCURRENCY. */
  writeConcurrency?: number;
  acquireTimeoutMs: number;
  /** False until the schema is migrated; operations answer "unavailable" meanwhile. */
  isSchemaReady?: () => boolean;
  /** Role to switch to in each transaction so row-level security applies (see sql/003). */
  appRole?: () => string | undefined;
}


interface EventRow {
  event_id: string;
  event_type: EventType;
  service_name: string;
  ts: Date;
  /** Null for candidates past the page's end. */
  payload: Record<string, unknown> | null;
  received_at: Date;
  /** False for the candidates that only show more rows follow. */
  kept: boolean;
}

interface CountRow {
  bucket: Date | null;
  key: string | null;
  count: string;
}

/** Requests this small share transactions (group commit); larger ones get their own. */
const GROUP_COMMIT_MAX_REQUEST_EVENTS = 100;
const GROUP_COMMIT_MAX_GROUP_EVENTS = 2000;

const MINUTE = 60_000;

/**
 * Stored payload bytes one page may carry. A page of 1,000 events of 64 KiB
 * would hold 64 MiB of JSON, several times that as objects, and again as the
 * answer; past this budget a page ends early and nextCursor continues it
 * (bench/README.md, "limits", has the memory it costs).
 */
export const PAGE_BYTE_BUDGET = 4 * 1024 * 1024;

/**
 * The EventStore on PostgreSQL (or PGlite through the same wire protocol).
 * Every operation runs in a transaction that first sets `app.tenant_id` (and
 * the role tv_app), so row-level security policies can act as a second wall
 * between tenants: reads through inTenantTransaction, writes inside the
 * ingest_events function.
 */
export function createPostgresEventStore(options: PostgresStoreOptions): EventStore & {
  poolStats(): { inUse: number; waiting: number };
  /** The underlying client, for migrations and operational tooling. */
  sql: Sql;
} {
  const { sql, kind, isSchemaReady = () => true, appRole = () => undefined } = options;
  const gate = new ConnectionGate(options.poolMax, options.acquireTimeoutMs);
  // Large batches take turns here; small requests have the group committer's
  // own two slots, so a backlog of large batches cannot delay them.
  const batchGate = new ConnectionGate(Math.min(options.writeConcurrency ?? options.poolMax, options.poolMax), options.acquireTimeoutMs);

  function assertSchemaReady() {
    if (!isSchemaReady()) throw new StorageUnavailableError("database schema is not migrated yet");
  }

  /**
   * The tenant (and the row-level-security role) for this transaction only:
   * a pooled connection never carries one request's tenant into the next.
   */
  function tenantSettings(db: Db, tenantId: string) {
    const role = appRole();
    return role
      ? db`SELECT set_config('app.tenant_id', ${tenantId}, true), set_config('role', ${role}, true)`
      : db`SELECT set_config('app.tenant_id', ${tenantId}, true)`;
  }

  /**
   * Statements in one transaction that first names the tenant. Each
   * statement is sent only after the one before it has answered: when the
   * driver fails to serialize a parameter of a statement queued behind one in
   * flight, it drops that statement without answering it and the connection
   * hangs in its transaction for good (postgres.js 3.4.9, connection.js
   * execute). Sent one at a time, the failing statement is the active one:
   * it is rejected, the transaction rolls back and the connection returns.
   */
  async function inTenantTransaction<T>(
    tenantId: string,
    work: (tx: TransactionSql) => Promise<T>,
    mode = "",
  ): Promise<T> {
    assertSchemaReady();
    try {
      return (await gate.run(() =>
        sql.begin(mode, async (tx) => {
          await tenantSettings(tx, tenantId);
          return work(tx);
        }),
      )) as T;
    } catch (error) {
      translateStorageError(error);
    }
  }

  /** Tenant and the optional filters; the time condition is added by each caller. */
  function filterClause(tx: Db, filter: EventFilter) {
    return tx`
      tenant_id = ${filter.tenantId}
      ${filter.eventType ? tx`AND event_type = ${filter.eventType}` : tx``}
      ${filter.serviceName ? tx`AND service_name = ${filter.serviceName}` : tx``}`;
  }

  /**
   * Writes unique events (first occurrence already chosen) and returns the ids
   * actually inserted: one statement, its own transaction (sql/005). Rows are
   * sorted by id so concurrent overlapping batches take row locks in the same
   * order and cannot deadlock.
   */
  async function writeEvents(tenantId: string, unique: NewEvent[], waitMs?: number): Promise<string[]> {
    assertSchemaReady();
    const rows = [...unique].sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
    try {
      const inserted = await gate.run(() => ingestEvents(sql, tenantId, appRole(), toColumns(rows)), waitMs);
      return inserted.map((r) => r.event_id);
    } catch (error) {
      translateStorageError(error);
    }
  }

  const groupCommitter = new GroupCommitter(writeEvents, {
    // Two keep one group filling while the other commits; the rest of the
    // pool stays free for queries and large batches. Measured with 64
    // single-event clients, one-statement writes (sql/005): 1 → 9.4–9.5k/s,
    // 2 → 9.5k/s, 3 → 9.7–9.8k/s, within the noise of each other.
    maxInFlight: Math.min(2, options.poolMax),
    maxGroupEvents: GROUP_COMMIT_MAX_GROUP_EVENTS,
    maxQueueWaitMs: options.acquireTimeoutMs,
    // Queued requests are small (at most 100 events each); the cap only stops
    // an unbounded pile-up when the database cannot keep up.
    maxQueued: Math.max(4096, options.poolMax * 256),
  });

  /**
   * One page of events, newest first: by offset, or after a (timestamp, id)
   * key. Up to `limit` + 1 candidates are read; the page keeps the first
   * `limit` of them while their payloads fit PAGE_BYTE_BUDGET (always at
   * least one), and the rest only say that more rows follow, without their
   * payloads.
   */
  function eventRows(tx: Db, filter: EventFilter, limit: number, offset: number, after?: PageRequest["after"]) {
    return tx<EventRow[]>`
      SELECT event_id, event_type, service_name, ts, received_at,
             CASE WHEN kept THEN payload END AS payload, kept
      FROM (
        SELECT *, (row_number() OVER newest <= ${limit}
                   AND (sum(size) OVER newest - size < ${PAGE_BYTE_BUDGET} OR row_number() OVER newest = 1)) AS kept
        FROM (
          SELECT event_id, event_type, service_name, ts, payload, received_at,
                 coalesce(payload_size, octet_length(payload::text)) AS size
          FROM events
          WHERE ${filterClause(tx, filter)}
            AND ts BETWEEN ${instant(filter.startTime)}::timestamptz AND ${instant(filter.endTime)}::timestamptz
            ${after ? tx`AND (ts, event_id) < (${after.timestamp}::timestamptz, ${after.eventId})` : tx``}
          ORDER BY ts DESC, event_id DESC
          LIMIT ${limit + 1}
          ${offset > 0 ? tx`OFFSET ${offset}` : tx``}
        ) AS candidates
        WINDOW newest AS (ORDER BY ts DESC, event_id DESC)
      ) AS page
      ORDER BY ts DESC, event_id DESC`;
  }

  /**
   * Where row number `offset` of the window lies: walks the window's hours,
   * minutes and partial edge minutes newest first by their counts, then the
   * minutes of the hour it lands in. Undefined when the window has fewer rows.
   */
  async function seek(tx: TransactionSql, filter: EventFilter, offset: number): Promise<SeekPoint | undefined> {
    const plan = planCounts(filter.startTime.getTime(), filter.endTime.getTime());
    const rawSlots = (ranges: Range[]) =>
      ranges.map(
        (r) => tx`
          SELECT ${instant(r.from)}::timestamptz AS slot, ${r.to - r.from}::int8 AS width, count(*) AS n
          FROM events
          WHERE ${filterClause(tx, filter)} AND ts >= ${instant(r.from)}::timestamptz AND ts < ${instant(r.to)}::timestamptz`,
      );
    const levelSlots = (level: CountLevel, ranges: Range[]) => tx`
      SELECT ${tx(level.column)} AS slot, ${level.unitMs}::int8 AS width, sum(count) AS n
      FROM ${tx(level.table)}
      WHERE ${filterClause(tx, filter)} AND (${within(tx, level.column, ranges)})
      GROUP BY 1`;
    const slots = async (parts: Fragment[]) => {
      if (parts.length === 0) return [];
      const union = parts.reduce((all, one) => tx`${all} UNION ALL ${one}`);
      const rows = await tx<{ slot: Date; width: string; n: string }[]>`
        SELECT slot, width, n FROM (${union}) AS slots WHERE n > 0 ORDER BY slot DESC`;
      return rows.map((r) => ({ from: r.slot.getTime(), to: r.slot.getTime() + Number(r.width), count: Number(r.n) }));
    };

    let point = findSlot(
      await slots([...rawSlots(plan.raw), ...plan.levels.map(({ level, ranges }) => levelSlots(level, ranges))]),
      offset,
    );
    // Narrow a coarse slot down level by level to the minute holding the row.
    for (const finer of [...COUNT_LEVELS].reverse()) {
      if (!point || point.slot.to - point.slot.from <= finer.unitMs) continue;
      point = findSlot(await slots([levelSlots(finer, [{ from: point.slot.from, to: point.slot.to }])]), point.skip);
    }
    return point;
  }

  /**
   * Counts over a window, read from the count tables for whole hours and
   * minutes and from the events only for the partial minutes at the edges.
   * Returns one row per (bucket, key); bucket/key are null when not asked for.
   */
  function countRows(tx: Db, filter: EventFilter, by?: GroupBy, bucketMinutes?: number) {
    // Buckets finer than a count table's slots must not read that table.
    const plan = planCounts(filter.startTime.getTime(), filter.endTime.getTime(), bucketMinutes ? bucketMinutes * MINUTE : Infinity);
    const key = (by === "service" ? tx`service_name` : by === "eventType" ? tx`event_type` : tx`NULL::text`) as Fragment;
    const bucket = (column: string) =>
      bucketMinutes ? tx`date_bin(${`${bucketMinutes} minutes`}::interval, ${tx(column)}, ${EPOCH}::timestamptz)` : tx`NULL::timestamptz`;

    const parts: Fragment[] = [];
    if (plan.raw.length) {
      parts.push(tx`
        SELECT ${bucket("ts")} AS bucket, ${key} AS key, count(*) AS n
        FROM events
        WHERE ${filterClause(tx, filter)} AND (${within(tx, "ts", plan.raw)})
        GROUP BY 1, 2`);
    }
    for (const { level, ranges } of plan.levels) {
      parts.push(tx`
        SELECT ${bucket(level.column)} AS bucket, ${key} AS key, sum(count) AS n
        FROM ${tx(level.table)}
        WHERE ${filterClause(tx, filter)} AND (${within(tx, level.column, ranges)})
        GROUP BY 1, 2`);
    }
    const union = parts.reduce((all, one) => tx`${all} UNION ALL ${one}`);
    return tx<CountRow[]>`
      SELECT bucket, key, sum(n)::int8 AS count
      FROM (${union}) AS parts
      GROUP BY bucket, key`;
  }

  return {
    kind,
    sql,
    poolStats: () => gate.stats,

    async ingest(tenantId, events): Promise<IngestResult> {
      if (events.length <= GROUP_COMMIT_MAX_REQUEST_EVENTS) return groupCommitter.submit(tenantId, events);
      const unique = new Map<string, NewEvent>();
      for (const event of events) if (!unique.has(event.eventId)) unique.set(event.eventId, event);
      // One wait budget for both gates.
      const queuedAt = performance.now();
      const inserted = await batchGate.run(() =>
        writeEvents(tenantId, [...unique.values()], options.acquireTimeoutMs - (performance.now() - queuedAt)),
      );
      return { ingested: inserted.length, duplicates: events.length - inserted.length };
    },

    async findEvents(filter, page: PageRequest): Promise<EventPage> {
      const offset = page.after ? 0 : (page.page - 1) * page.limit;
      if (offset < SEEK_MIN_OFFSET) {
        const rows = await inTenantTransaction(filter.tenantId, (tx) => eventRows(tx, filter, page.limit, offset, page.after));
        return toEventPage(rows, page.limit);
      }
      // Counts and rows must come from one snapshot for the seek to be exact.
      const rows = await inTenantTransaction(
        filter.tenantId,
        async (tx) => {
          const point = await seek(tx, filter, offset);
          if (!point) return [];
          const below = { ...filter, endTime: new Date(point.slot.to - 1) };
          return eventRows(tx, below, page.limit, point.skip);
        },
        "isolation level repeatable read",
      );
      return toEventPage(rows, page.limit);
    },

    async countEvents(filter) {
      const rows = await inTenantTransaction(filter.tenantId, (tx) => countRows(tx, filter));
      return rows.reduce((sum, row) => sum + Number(row.count), 0);
    },

    async groupCounts(filter, by: GroupBy) {
      const rows = await inTenantTransaction(filter.tenantId, (tx) => countRows(tx, filter, by));
      return rows
        .map((r) => ({ key: r.key!, count: Number(r.count) }))
        .filter((r) => r.count > 0)
        .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async timeBuckets(filter, interval: BucketInterval, by?: GroupBy): Promise<TimeBucket[]> {
      const rows = await inTenantTransaction(filter.tenantId, (tx) => countRows(tx, filter, by, BUCKET_MINUTES[interval]));
      return rows
        .filter((r) => Number(r.count) > 0)
        .map((r) => ({ bucket: r.bucket!.toISOString(), ...(by ? { key: r.key! } : {}), count: Number(r.count) }))
        .sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : (a.key ?? "") < (b.key ?? "") ? -1 : 1));
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

/** `(column >= from AND column < to) OR ...` over half-open ranges. */
function within(tx: Db, column: string, ranges: Range[]) {
  return ranges
    .map((r) => tx`(${tx(column)} >= ${instant(r.from)}::timestamptz AND ${tx(column)} < ${instant(r.to)}::timestamptz)`)
    .reduce((all, one) => tx`${all} OR ${one}`);
}

function toEventPage(rows: EventRow[], limit: number): EventPage {
  const kept = rows.filter((row) => row.kept);
  return {
    events: kept.map(toStoredEvent),
    more: rows.length > kept.length,
    truncated: kept.length < Math.min(rows.length, limit),
  };
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    eventType: row.event_type,
    serviceName: row.service_name,
    timestamp: row.ts.toISOString(),
    payload: row.payload!,
    receivedAt: row.received_at.toISOString(),
  };
}

/**
 * A timestamp parameter as text, cast in the SQL. The driver serializes a
 * Date itself and throws on an invalid one while the statement is on its
 * way; here a bad instant throws before any statement is built.
 */
function instant(value: Date | number): string {
  return (typeof value === "number" ? new Date(value) : value).toISOString();
}
