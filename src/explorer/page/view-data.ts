/**
 * What one view of the explorer needs from the server, asked for together:
 * the chart's buckets, the first page of events and the group-by panels.
 *
 * Each panel ignores its own filter (the service panel counts every service),
 * so another key is always one press away; the chart's total is the list's
 * total, so the list is asked for without counting (`total: "none"`).
 */
import type { EventsPage, GroupCounts, GroupRow, TimeBuckets } from "./api";
import { LEVEL_FIELDS, type LevelField } from "./levels";
import { pickInterval, type Interval, type TimeWindow, type ViewState } from "./state";

export const PAGE_SIZE = 50;

/** Asks the server (through the page's answer cache) for one POST /query body. */
export type Ask = <T>(body: Record<string, unknown>) => Promise<T>;

export interface ViewData {
  window: TimeWindow;
  interval: Interval;
  series: TimeBuckets;
  page: EventsPage;
  services: GroupRow[];
  types: GroupRow[];
  /** Counts per level, from the first level field with values; undefined when events have none. */
  levels?: { field: LevelField; rows: GroupRow[] };
}

/** The filters of a POST /query body; undefined fields are left out of the request. */
export function filtersOf(state: ViewState, except?: "service" | "eventType" | { field: string }): Record<string, unknown> {
  const where = except && typeof except === "object" ? state.where.filter((c) => c.field !== except.field) : state.where;
  return {
    eventType: except === "eventType" ? undefined : state.eventType,
    serviceName: except === "service" ? undefined : state.service,
    q: state.q,
    where: where.length ? where : undefined,
  };
}

export const rangeOf = (window: TimeWindow) => ({ startTime: window.start.toISOString(), endTime: window.end.toISOString() });

/** Counts per key summed over a series' buckets, largest first: the type panel, when the chart is stacked by type. */
function totalsByKey(series: TimeBuckets): GroupRow[] {
  const totals = new Map<string, GroupRow>();
  for (const bucket of series.data) {
    const key = bucket.key ?? null;
    const id = JSON.stringify([key, bucket.other ?? false]);
    const row = totals.get(id) ?? { key, ...(bucket.other ? { other: true as const } : {}), count: 0 };
    row.count += bucket.count;
    totals.set(id, row);
  }
  return [...totals.values()].sort((a, b) => b.count - a.count);
}

/**
 * The level panel: `level`, else `severity`, else `severityText` (OpenTelemetry
 * logs), the first with any value in this view. A field that already has a
 * condition stays, even when the rest of the view leaves it empty.
 */
async function loadLevels(ask: Ask, state: ViewState, window: TimeWindow): Promise<ViewData["levels"]> {
  for (const field of LEVEL_FIELDS) {
    const answer = await ask<GroupCounts>({ ...rangeOf(window), ...filtersOf(state, { field }), groupBy: `field:${field}` });
    const named = answer.data.some((row) => !row.other && row.key !== null);
    if (named || state.where.some((c) => c.field === field)) return { field, rows: answer.data };
  }
  return undefined;
}

export async function loadView(ask: Ask, state: ViewState, window: TimeWindow): Promise<ViewData> {
  const interval = pickInterval(window);
  const range = rangeOf(window);
  // Stacked by type and not filtered by one, the chart's buckets already hold the type panel's counts.
  const typesFromSeries = state.stack === "eventType" && !state.eventType;
  const [series, page, services, types, levels] = await Promise.all([
    ask<TimeBuckets>({ ...range, ...filtersOf(state), interval: interval.name, groupBy: state.stack }),
    ask<EventsPage>({ ...range, ...filtersOf(state), limit: PAGE_SIZE, total: "none" }),
    ask<GroupCounts>({ ...range, ...filtersOf(state, "service"), groupBy: "service" }),
    typesFromSeries ? undefined : ask<GroupCounts>({ ...range, ...filtersOf(state, "eventType"), groupBy: "eventType" }),
    loadLevels(ask, state, window),
  ]);
  return { window, interval, series, page, services: services.data, types: types?.data ?? totalsByKey(series), levels };
}
