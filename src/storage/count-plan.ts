/**
 * Splits a query window into the pieces that are cheapest to count: whole
 * hours from event_counts_hour, whole 5-minute slots from
 * event_counts_5min, whole minutes from event_counts_minute, and only the
 * partial minutes at the two edges from the raw events.
 * All ranges are half-open [from, to) in epoch milliseconds.
 */
export interface Range {
  from: number;
  to: number;
}

/** A count table: its name, its time column, and the width of its slots. */
export interface CountLevel {
  table: "event_counts_minute" | "event_counts_5min" | "event_counts_hour";
  column: "minute" | "slot" | "hour";
  unitMs: number;
}

const MINUTE = 60_000;

/** Finest first. Every unit is a multiple of the one before, aligned to the epoch. */
export const COUNT_LEVELS: readonly CountLevel[] = [
  { table: "event_counts_minute", column: "minute", unitMs: MINUTE },
  { table: "event_counts_5min", column: "slot", unitMs: 5 * MINUTE },
  { table: "event_counts_hour", column: "hour", unitMs: 60 * MINUTE },
];

export interface CountPlan {
  /** Ranges to count from the raw events (partial minutes at the edges). */
  raw: Range[];
  /** Ranges to read from each count table, by level. */
  levels: { level: CountLevel; ranges: Range[] }[];
}

const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const ceilTo = (ms: number, unit: number) => Math.ceil(ms / unit) * unit;

/**
 * @param start inclusive window start (ms)
 * @param end inclusive window end (ms); stored timestamps have millisecond precision
 * @param maxUnitMs the coarsest slot allowed: buckets of 5 minutes must not read hours
 */
export function planCounts(start: number, end: number, maxUnitMs = Infinity): CountPlan {
  const levels = COUNT_LEVELS.filter((l) => l.unitMs <= maxUnitMs);
  const byLevel = new Map<CountLevel, Range[]>();
  const raw: Range[] = [];

  // The coarsest level takes the whole slots inside the range; the two
  // leftovers at the edges go one level down, until raw events take the rest.
  const split = (from: number, to: number, index: number) => {
    if (from >= to) return;
    if (index < 0) {
      raw.push({ from, to });
      return;
    }
    const { unitMs } = levels[index]!;
    const first = ceilTo(from, unitMs);
    const last = floorTo(to, unitMs);
    if (first >= last) {
      split(from, to, index - 1);
      return;
    }
    split(from, first, index - 1);
    const ranges = byLevel.get(levels[index]!) ?? [];
    ranges.push({ from: first, to: last });
    byLevel.set(levels[index]!, ranges);
    split(last, to, index - 1);
  };
  split(start, end + 1, levels.length - 1);

  return { raw, levels: levels.filter((l) => byLevel.has(l)).map((level) => ({ level, ranges: byLevel.get(level)! })) };
}
