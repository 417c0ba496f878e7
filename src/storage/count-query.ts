import type { Fragment, TransactionSql } from "postgres";
import { COUNT_LEVELS, planCounts, type CountLevel, type Range } from "./count-plan";
import type { EventFilter, GroupBy } from "./event-store";
import { findSlot, type SeekPoint } from "./offset-seek";
import { filterClause, inRanges, instant } from "./sql-filters";
import { EPOCH, type Db } from "./write-sql";

const MINUTE = 60_000;

export interface CountRow {
  bucket: Date | null;
  key: string | null;
  count: string;
}

/**
 * Counts over a window, read from the count tables for whole hours, 5-minute
 * slots and minutes, and from the events only for the partial minutes at the
 * edges. Returns one row per (bucket, key); bucket/key are null when not
 * asked for.
 */
export function countRows(tx: Db, filter: EventFilter, by?: GroupBy, bucketMinutes?: number) {
  // Buckets finer than a count table's slots must not read that table.
  const plan = planCounts(filter.startTime.getTime(), filter.endTime.getTime(), bucketMinutes ? bucketMinutes * MINUTE : Infinity);
  const key = (by === "service" ? tx`service_name` : by === "eventType" ? tx`event_type` : tx`NULL::text`) as Fragment;
  const bucket = (column: string) =>
    bucketMinutes ? tx`date_bin(${`${bucketMinutes} minutes`}::interval, ${tx(column)}, ${EPOCH}::timestamptz)` : tx`NULL::timestamptz`;

  const parts: Fragment[] = [];
  if (plan.raw.length) {
    parts.push(tx`
      SELECT ${bucket("ts")} AS bucket, ${key} AS key, count(*) AS n
      FROM events_all
      WHERE ${filterClause(tx, filter)} AND (${inRanges(tx, "ts", plan.raw)})
      GROUP BY 1, 2`);
  }
  for (const { level, ranges } of plan.levels) {
    parts.push(tx`
      SELECT ${bucket(level.column)} AS bucket, ${key} AS key, sum(count) AS n
      FROM ${tx(level.table)}
      WHERE ${filterClause(tx, filter)} AND (${inRanges(tx, level.column, ranges)})
      GROUP BY 1, 2`);
  }
  const union = parts.reduce((all, one) => tx`${all} UNION ALL ${one}`);
  return tx<CountRow[]>`
    SELECT bucket, key, sum(n)::int8 AS count
    FROM (${union}) AS parts
    GROUP BY bucket, key`;
}

/**
 * Where row number `offset` of the window lies: walks the window's hours,
 * minutes and partial edge minutes newest first by their counts, then the
 * minutes of the hour it lands in. Undefined when the window has fewer rows.
 */
export async function seekOffset(tx: TransactionSql, filter: EventFilter, offset: number): Promise<SeekPoint | undefined> {
  const plan = planCounts(filter.startTime.getTime(), filter.endTime.getTime());
  const rawSlots = (ranges: Range[]) =>
    ranges.map(
      (r) => tx`
        SELECT ${instant(tx, r.from)} AS slot, ${r.to - r.from}::int8 AS width, count(*) AS n
        FROM events_all
        WHERE ${filterClause(tx, filter)} AND ts >= ${instant(tx, r.from)} AND ts < ${instant(tx, r.to)}`,
    );
  const levelSlots = (level: CountLevel, ranges: Range[]) => tx`
    SELECT ${tx(level.column)} AS slot, ${level.unitMs}::int8 AS width, sum(count) AS n
    FROM ${tx(level.table)}
    WHERE ${filterClause(tx, filter)} AND (${inRanges(tx, level.column, ranges)})
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
