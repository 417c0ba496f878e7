/**
 * Splits a query window into the pieces that are cheapest to count:
 * whole hours from event_counts_hour, whole minutes from event_counts_minute,
 * and only the partial minutes at the two edges from the raw events.
 * All ranges are half-open [from, to) in epoch milliseconds.
 */
export interface Range {
  from: number;
  to: number;
}

export interface CountPlan {
  raw: Range[];
  minutes: Range[];
  hours: Range[];
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const ceilTo = (ms: number, unit: number) => Math.ceil(ms / unit) * unit;

function nonEmpty(ranges: Range[]): Range[] {
  return ranges.filter((r) => r.from < r.to);
}

/**
 * @param start inclusive window start (ms)
 * @param end inclusive window end (ms); stored timestamps have millisecond precision
 * @param useHours false when buckets finer than an hour are wanted
 */
export function planCounts(start: number, end: number, useHours = true): CountPlan {
  const endExclusive = end + 1;
  const firstMinute = ceilTo(start, MINUTE);
  const lastMinute = floorTo(endExclusive, MINUTE);
  if (firstMinute >= lastMinute) return { raw: nonEmpty([{ from: start, to: endExclusive }]), minutes: [], hours: [] };

  const raw = nonEmpty([
    { from: start, to: firstMinute },
    { from: lastMinute, to: endExclusive },
  ]);
  const firstHour = ceilTo(firstMinute, HOUR);
  const lastHour = floorTo(lastMinute, HOUR);
  if (!useHours || firstHour >= lastHour) return { raw, minutes: [{ from: firstMinute, to: lastMinute }], hours: [] };

  return {
    raw,
    minutes: nonEmpty([
      { from: firstMinute, to: firstHour },
      { from: lastHour, to: lastMinute },
    ]),
    hours: [{ from: firstHour, to: lastHour }],
  };
}
