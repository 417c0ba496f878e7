import type { Fragment, TransactionSql } from "postgres";
import { COUNT_LEVELS, planCounts, type CountLevel, type Range } from "./count-plan";
import type { EventFilter, GroupBy, JsonScalar } from "./event-store";
import { findSlot, type SeekPoint } from "./offset-seek";
import { countableLevels, countFilter, inRanges, instant, jsonPath, rowFilter } from "./sql-filters";
import { EPOCH, type Db } from "./write-sql";
import { MAX_FIELD_GROUPS } from "../events/limits";

const MINUTE = 60_000;

export interface CountRow {
  bucket: Date | null;
  /** The group's key as JSON text: a service, an event type, or a field's value; null when not grouped or without a value. */
  key: string | null;
  /** The row counting every value past the top MAX_FIELD_GROUPS. */
  other: boolean;
  count: string;
}

/**
 * Counts over a window, per bucket and key when asked. From the count tables
 * for whole hours, 5-minute slots and minutes, and from the events only for
 * the partial minutes at the edges, whenever the filter allows
 * (countableLevels); otherwise from the matching events themselves.
 */
export async function countRows(tx: Db, filter: EventFilter, by?: GroupBy, bucketMinutes?: number): Promise<CountRow[]> {
  const fromTables = await countTablesServe(tx, filter, by);
  const union = fromTables ? tableCounts(tx, filter, fromTables.levels, by, bucketMinutes) : rowCounts(tx, filter, by, bucketMinutes);
  if (by === undefined || typeof by === "string") {
    return tx<CountRow[]>`
      SELECT bucket, to_jsonb(key)::text AS key, false AS other, sum(n)::int8 AS count
      FROM (${union}) AS parts
      GROUP BY bucket, key`;
  }
  // A field: its top values by count, then the rest together.
  return tx<CountRow[]>`
    WITH counted AS (
      SELECT bucket, key, sum(n) AS n FROM (${union}) AS parts GROUP BY bucket, key
    ),
    top AS (
      SELECT key FROM counted GROUP BY key ORDER BY sum(n) DESC, key NULLS FIRST LIMIT ${MAX_FIELD_GROUPS}
    )
    SELECT c.bucket, CASE WHEN t.present THEN c.key END::text AS key, t.present IS NULL AS other, sum(c.n)::int8 AS count
    FROM counted AS c LEFT JOIN (SELECT key, true AS present FROM top) AS t ON c.key IS NOT DISTINCT FROM t.key
    GROUP BY 1, 2, 3`;
}

/**
 * The count tables serve a filter without free text whose conditions are on
 * the level only, grouped by nothing, service, event type or the level; and,
 * for a level condition or grouping, only if the window holds no row
 * counted under '*': a level that is an object or array (a condition may
 * still match it), or a row moved from the table of before, counted before
 * levels were (its level is in its payload only).
 */
export async function countTablesServe(tx: Db, filter: EventFilter, by?: GroupBy): Promise<{ levels?: JsonScalar[] } | null> {
  const countable = countableLevels(filter);
  if (!countable) return null;
  const byLevel = by !== undefined && typeof by !== "string";
  if (byLevel && by.field !== "level") return null;
  if (countable.levels || byLevel) {
    const [row] = await tx<{ complex: boolean }[]>`
      SELECT EXISTS (
        SELECT 1 FROM event_counts_hour
        WHERE ${countFilter(tx, filter)} AND level = '*'
          AND hour >= ${instant(tx, Math.floor(filter.startTime.getTime() / 3_600_000) * 3_600_000)} AND hour <= ${instant(tx, filter.endTime)}
      ) AS complex`;
    if (row?.complex) return null;
  }
  return countable;
}

// A field's keys are jsonb, so that equal values group together whatever
// their text (1 and 1.0 are one number). Services and types group as text
// compared byte by byte (the same groups), made JSON text once grouped:
// sorting 8,000 count rows by jsonb keys was half of an hourly series per
// service over 7 days (14.5 against 9.5 ms in EXPLAIN ANALYZE).
function keyOfCountRow(tx: Db, by?: GroupBy): Fragment {
  if (by === "service") return tx`service_name COLLATE "C"`;
  if (by === "eventType") return tx`event_type COLLATE "C"`;
  // The level key is jsonb's text of the value; '', '*' and 'null' mean no scalar value.
  if (by) return tx`CASE WHEN level IN ('', '*', 'null') THEN NULL ELSE level::jsonb END`;
  return tx`NULL::jsonb`;
}

/** A field's key is the first value its path reaches, when that is a string, number or boolean. */
function keyOfEvent(tx: Db, by?: GroupBy): Fragment {
  if (by === "service") return tx`service_name COLLATE "C"`;
  if (by === "eventType") return tx`event_type COLLATE "C"`;
  if (by) {
    return tx`(SELECT CASE WHEN jsonb_typeof(v) IN ('string', 'number', 'boolean') THEN v END
               FROM jsonb_path_query_first(payload, ${jsonPath(by.field)}::jsonpath) AS v)`;
  }
  return tx`NULL::jsonb`;
}

function bucketOf(tx: Db, column: string, bucketMinutes?: number): Fragment {
  return bucketMinutes ? tx`date_bin(${`${bucketMinutes} minutes`}::interval, ${tx(column)}, ${EPOCH}::timestamptz)` : tx`NULL::timestamptz`;
}

/** Whole slots from the count tables, the partial minutes at the edges from the events. */
function tableCounts(tx: Db, filter: EventFilter, levels: JsonScalar[] | undefined, by?: GroupBy, bucketMinutes?: number): Fragment {
  // Buckets finer than a count table's slots must not read that table.
  const plan = planCounts(filter.startTime.getTime(), filter.endTime.getTime(), bucketMinutes ? bucketMinutes * MINUTE : Infinity);
  const parts: Fragment[] = [];
  if (plan.raw.length) {
    parts.push(tx`
      SELECT ${bucketOf(tx, "ts", bucketMinutes)} AS bucket, ${keyOfEvent(tx, by)} AS key, count(*) AS n
      FROM events_all
      WHERE ${rowFilter(tx, filter)} AND (${inRanges(tx, "ts", plan.raw)})
      GROUP BY 1, 2`);
  }
  for (const { level, ranges } of plan.levels) {
    parts.push(tx`
      SELECT ${bucketOf(tx, level.column, bucketMinutes)} AS bucket, ${keyOfCountRow(tx, by)} AS key, sum(count) AS n
      FROM ${tx(level.table)}
      WHERE ${countFilter(tx, filter, levels)} AND (${inRanges(tx, level.column, ranges)})
      GROUP BY 1, 2`);
  }
  return parts.reduce((all, one) => tx`${all} UNION ALL ${one}`);
}

/** Every matching event of the window, one by one. */
function rowCounts(tx: Db, filter: EventFilter, by?: GroupBy, bucketMinutes?: number): Fragment {
  return tx`
    SELECT ${bucketOf(tx, "ts", bucketMinutes)} AS bucket, ${keyOfEvent(tx, by)} AS key, count(*) AS n
    FROM events_all
    WHERE ${rowFilter(tx, filter)} AND ts BETWEEN ${instant(tx, filter.startTime)} AND ${instant(tx, filter.endTime)}
    GROUP BY 1, 2`;
}

/**
 * Where row number `offset` of the window lies: walks the window's hours,
 * minutes and partial edge minutes newest first by their counts, then the
 * minutes of the hour it lands in. Undefined when the window has fewer rows.
 * Only for filters the count tables serve.
 */
export async function seekOffset(tx: TransactionSql, filter: EventFilter, offset: number, levels?: JsonScalar[]): Promise<SeekPoint | undefined> {
  const plan = planCounts(filter.startTime.getTime(), filter.endTime.getTime());
  const rawSlots = (ranges: Range[]) =>
    ranges.map(
      (r) => tx`
        SELECT ${instant(tx, r.from)} AS slot, ${r.to - r.from}::int8 AS width, count(*) AS n
        FROM events_all
        WHERE ${rowFilter(tx, filter)} AND ts >= ${instant(tx, r.from)} AND ts < ${instant(tx, r.to)}`,
    );
  const levelSlots = (level: CountLevel, ranges: Range[]) => tx`
    SELECT ${tx(level.column)} AS slot, ${level.unitMs}::int8 AS width, sum(count) AS n
    FROM ${tx(level.table)}
    WHERE ${countFilter(tx, filter, levels)} AND (${inRanges(tx, level.column, ranges)})
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


