import { countRows, countTablesServe, seekOffset, type CountRow } from "./count-query";
import { BUCKET_MINUTES } from "../events/event-types";
import type { EventFilter, EventStore, GroupKey } from "./event-store";
import { SEEK_MIN_OFFSET } from "./offset-seek";
import { pageOfEvents } from "./page-query";
import type { TransactionSql } from "postgres";
import { countTerms, narrowByTerms as narrowed, searchResolved } from "./search-keys";
import type { TenantScope } from "./tenant-scope";
import { eventsByKeys, eventsOfTrace } from "./trace-query";

/** The store's reads (documented on EventStore). */
export type EventReader = Pick<EventStore, "resolveSearch" | "findEvents" | "countEvents" | "groupCounts" | "timeBuckets" | "traceEvents" | "eventsByKeys">;

/** Reads: each in one transaction of the filter's tenant (tenant-scope.ts). */
export function createEventReader(scope: TenantScope, options: { selectiveKeys: number }): EventReader {
  const narrowByTerms = (tx: TransactionSql, filter: EventFilter) => narrowed(tx, filter, options.selectiveKeys);
  return {
    async resolveSearch(filter) {
      if (searchResolved(filter)) return filter;
      return scope.run(filter.tenantId, (tx) => narrowByTerms(tx, filter));
    },

    async findEvents(filter, page) {
      const offset = page.after ? 0 : (page.page - 1) * page.limit;
      if (offset < SEEK_MIN_OFFSET) {
        return scope.run(filter.tenantId, async (tx) => {
          const narrowed = await narrowByTerms(tx, filter);
          if (narrowed.terms?.length) await walkNewestFirst(tx);
          return pageOfEvents(tx, narrowed, page.limit, offset, page.after);
        });
      }
      // Deep pages: the counts say which minute holds the offset, when the
      // count tables serve the filter. Counts and rows must come from one
      // snapshot for that to be exact.
      return scope.run(
        filter.tenantId,
        async (tx) => {
          const narrowed = await narrowByTerms(tx, filter);
          const countable = await countTablesServe(tx, narrowed);
          if (!countable) return pageOfEvents(tx, narrowed, page.limit, offset);
          const point = await seekOffset(tx, narrowed, offset, countable.levels);
          if (!point) return { events: [], more: false, truncated: false };
          return pageOfEvents(tx, { ...narrowed, endTime: new Date(point.slot.to - 1) }, page.limit, point.skip);
        },
        { mode: "isolation level repeatable read" },
      );
    },

    async countEvents(filter) {
      return scope.run(filter.tenantId, async (tx) => {
        const narrowed = await narrowByTerms(tx, filter);
        // Common words: counted by the search function, which may use the trigram indexes.
        if (narrowed.terms?.length && !narrowed.where?.length) return countTerms(tx, narrowed);
        const rows = await countRows(tx, narrowed);
        return rows.reduce((sum, row) => sum + Number(row.count), 0);
      });
    },

    async groupCounts(filter, by) {
      const rows = await scope.run(filter.tenantId, async (tx) => countRows(tx, await narrowByTerms(tx, filter), by));
      return rows
        .filter((r) => Number(r.count) > 0)
        .map((r) => ({ key: keyOf(r), ...(r.other ? { other: true as const } : {}), count: Number(r.count) }))
        .sort((a, b) => Number(!!a.other) - Number(!!b.other) || b.count - a.count || compareKeys(a.key, b.key));
    },

    async timeBuckets(filter, interval, by) {
      const rows = await scope.run(filter.tenantId, async (tx) => countRows(tx, await narrowByTerms(tx, filter), by, BUCKET_MINUTES[interval]));
      return rows
        .filter((r) => Number(r.count) > 0)
        .map((r) => ({
          bucket: r.bucket!.toISOString(),
          ...(by ? { key: keyOf(r) } : {}),
          ...(r.other ? { other: true as const } : {}),
          count: Number(r.count),
        }))
        .sort(
          (a, b) =>
            (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0) ||
            Number(!!a.other) - Number(!!b.other) ||
            compareKeys(a.key ?? null, b.key ?? null),
        );
    },

    traceEvents(tenantId, traceId, limit, after) {
      return scope.run(tenantId, async (tx) => {
        await planOncePerConnection(tx);
        return eventsOfTrace(tx, tenantId, traceId, limit, after);
      });
    },

    eventsByKeys(tenantId, keys) {
      return scope.run(tenantId, (tx) => eventsByKeys(tx, tenantId, keys));
    },
  };
}

/**
 * A common word is found walking the window newest first through the time
 * index, stopping at the page's end. The planner, seeing how many rows
 * match, prefers reading them all, in parallel or not, and sorting (a
 * 24-hour window of 1.4M events: 540 ms against 20 ms walking; of 135k
 * events: 416 ms against 1.4 ms; bench/README.md); this transaction, which
 * holds only the page's statement from here on, is told not to.
 */
async function walkNewestFirst(tx: TransactionSql) {
  await tx`SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
                  set_config('enable_sort', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)`;
}

/**
 * A trace lookup has no time to prune partitions by, so planning it means
 * planning every partition's index probe: 2.9 ms of a 3.3 ms statement at 43
 * partitions, each time, as the service's connections ask for custom plans
 * (right for time windows, migrate.ts). The same statement is the same plan
 * whatever the trace, so this transaction keeps the prepared statement's
 * generic plan (0.02 ms to reuse). Through PgBouncer, with no prepared
 * statements, every statement is planned anyway.
 */
async function planOncePerConnection(tx: TransactionSql) {
  await tx`SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`;
}

/** Keys travel as JSON text (count-query.ts), so values of any JSON type come back as they were. */
function keyOf(row: CountRow): GroupKey {
  return row.key === null ? null : (JSON.parse(row.key) as GroupKey);
}

/** A stable order for keys of any JSON type: null first, then by their JSON text. */
export function compareKeys(a: GroupKey, b: GroupKey): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
