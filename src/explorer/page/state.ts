/**
 * The view's state (range, filters, stacking) and its home in the URL, so a
 * view can be shared and reloaded. The API key is never part of it.
 */

import { BUCKET_MINUTES, EVENT_TYPES, type EventType } from "../../events/event-types";

export { EVENT_TYPES, type EventType };

export const PRESETS = { "15m": 15 * 60_000, "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 } as const;
export type Preset = keyof typeof PRESETS;
export type Stack = "eventType" | "service";

export interface ViewState {
  range: Preset | "custom";
  /** ISO instants, for the custom range only. */
  from?: string;
  to?: string;
  eventType?: EventType;
  service?: string;
  stack: Stack;
}

export const DEFAULT_STATE: ViewState = { range: "24h", stack: "eventType" };

const isPreset = (value: string | null): value is Preset => value !== null && value in PRESETS;
const validInstant = (value: string | null) => (value && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : undefined);

export function parseState(search: string): ViewState {
  const params = new URLSearchParams(search);
  const state: ViewState = { ...DEFAULT_STATE };
  const from = validInstant(params.get("from"));
  const to = validInstant(params.get("to"));
  const range = params.get("range");
  if (from && to && Date.parse(from) <= Date.parse(to)) Object.assign(state, { range: "custom", from, to });
  else if (isPreset(range)) state.range = range;
  const type = params.get("type");
  if (type && (EVENT_TYPES as readonly string[]).includes(type)) state.eventType = type as EventType;
  const service = params.get("service")?.trim();
  if (service) state.service = service.slice(0, 128);
  if (params.get("stack") === "service") state.stack = "service";
  return state;
}

export function toSearch(state: ViewState): string {
  const params = new URLSearchParams();
  if (state.range === "custom" && state.from && state.to) {
    params.set("from", state.from);
    params.set("to", state.to);
  } else params.set("range", state.range);
  if (state.eventType) params.set("type", state.eventType);
  if (state.service) params.set("service", state.service);
  if (state.stack !== DEFAULT_STATE.stack) params.set("stack", state.stack);
  return `?${params}`;
}

export interface TimeWindow {
  start: Date;
  end: Date;
}

/** The absolute window a state means now: presets end at `now`. */
export function resolveWindow(state: ViewState, now = Date.now()): TimeWindow {
  if (state.range === "custom" && state.from && state.to) return { start: new Date(state.from), end: new Date(state.to) };
  const span = PRESETS[state.range === "custom" ? "24h" : state.range];
  return { start: new Date(now - span), end: new Date(now) };
}

const INTERVAL_LABELS = { "1m": "minute", "5m": "5 minutes", "1h": "hour", "1d": "day" } as const;
export const INTERVALS = Object.entries(BUCKET_MINUTES).map(([name, minutes]) => ({
  name: name as keyof typeof BUCKET_MINUTES,
  ms: minutes * 60_000,
  label: INTERVAL_LABELS[name as keyof typeof BUCKET_MINUTES],
}));
export type Interval = (typeof INTERVALS)[number];

/** The finest bucket width that keeps the chart readable (15 min→1m, 1 h→1m, 24 h→5m, 7 d→1h). */
export function pickInterval(window: TimeWindow, maxBuckets = 300): Interval {
  const span = window.end.getTime() - window.start.getTime();
  return INTERVALS.find((interval) => span / interval.ms <= maxBuckets) ?? INTERVALS[INTERVALS.length - 1]!;
}
