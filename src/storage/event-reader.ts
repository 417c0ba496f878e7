import { countRows, seekOffset } from "./count-query";
import { BUCKET_MINUTES, type BucketInterval } from "../events/event-types";
import type { EventFilter, EventPage, GroupBy, PageRequest, TimeBucket } from "./event-store";
import { SEEK_MIN_OFFSET } from "./offset-seek";
import { pageOfEvents } from "./page-query";
import type { TenantScope } from "./tenant-scope";

export interface EventReader {
  findEvents(filter: EventFilter, page: PageRequest): Promise<EventPage>;
  countEvents(filter: EventFilter): Promise<number>;
  groupCounts(filter: EventFilter, by: GroupBy): Promise<{ key: string; count: number }[]>;
  timeBuckets(filter: EventFilter, interval: BucketInterval, by?: GroupBy): Promise<TimeBucket[]>;
}

/** Reads: each in one transaction of the filter's tenant (tenant-scope.ts). */
export function createEventReader(scope: TenantScope): EventReader {
  return {
    async findEvents(filter, page) {
      const offset = page.after ? 0 : (page.page - 1) * page.limit;
      if (offset < SEEK_MIN_OFFSET) {
        return scope.run(filter.tenantId, (tx) => pageOfEvents(tx, filter, page.limit, offset, page.after));
      }
      // Deep pages: the counts say which minute holds the offset. Counts and
      // rows must come from one snapshot for that to be exact.
      return scope.run(
        filter.tenantId,
        async (tx) => {
          const point = await seekOffset(tx, filter, offset);
          if (!point) return { events: [], more: false, truncated: false };
          return pageOfEvents(tx, { ...filter, endTime: new Date(point.slot.to - 1) }, page.limit, point.skip);
        },
        { mode: "isolation level repeatable read" },
      );
    },

    async countEvents(filter) {
      const rows = await scope.run(filter.tenantId, (tx) => countRows(tx, filter));
      return rows.reduce((sum, row) => sum + Number(row.count), 0);
    },

    async groupCounts(filter, by) {
      const rows = await scope.run(filter.tenantId, (tx) => countRows(tx, filter, by));
      return rows
        .map((r) => ({ key: r.key!, count: Number(r.count) }))
        .filter((r) => r.count > 0)
        .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async timeBuckets(filter, interval, by) {
      const rows = await scope.run(filter.tenantId, (tx) => countRows(tx, filter, by, BUCKET_MINUTES[interval]));
      return rows
        .filter((r) => Number(r.count) > 0)
        .map((r) => ({ bucket: r.bucket!.toISOString(), ...(by ? { key: r.key! } : {}), count: Number(r.count) }))
        .sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : (a.key ?? "") < (b.key ?? "") ? -1 : 1));
    },
  };
}
