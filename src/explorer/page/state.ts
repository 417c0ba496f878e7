/**
 * The view's state (range, filters, search, stacking, zone, open trace, live)
 * and its home in the URL, so a view can be shared and reloaded. The API key
 * is never part of it.
 *
 * Parsing never throws: a URL is typed or pasted by people, and anything this
 * file does not understand is dropped, never trusted. Lookups use Object.hasOwn,
 * never `in`, so "?range=toString" is not mistaken for a preset.
 */

import { BUCKET_MINUTES, EVENT_TYPES, type EventType } from "../../events/event-types";
import { MAX_ID_LENGTH, MAX_SERVICE_NAME_LENGTH } from "../../events/limits";
import type { Condition } from "../../query/search.schemas";
import type { Zone } from "./format";

export { EVENT_TYPES, type Condition, type EventType, type Zone };

export const PRESETS = { "15m": 15 * 60_000, "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 } as const;
export type Preset = keyof typeof PRESETS;
export type Stack = "eventType" | "service";

export interface ViewState {
  range: Preset | "custom";
  /** ISO instants, for the custom range only. */
  from?: string;
  to?: string;
  eventType?: EventType;
  /** Exact and case-sensitive, spaces included: service names are compared as stored. */
  service?: string;
  /** Free text (POST /query `q`). */
  q?: string;
  /** Conditions on payload fields (POST /query `where`), shown as chips. */
  where: Condition[];
  stack: Stack;
  zone: Zone;
  /** The trace whose events are open. */
  trace?: string;
  /** An event to mark in the table, e.g. the one "surrounding events" was opened from. */
  event?: string;
  live: boolean;
}

export const DEFAULT_STATE: Readonly<ViewState> = Object.freeze({ range: "24h", stack: "eventType", zone: "local", where: [], live: false });

// The server's limits for q and where (src/query/search.schemas.ts; not imported, it would bring zod into the page).
// The server checks them again: these only keep a hand-edited URL from building a request it refuses.
export const MAX_Q_LENGTH = 512;
export const MAX_CONDITIONS = 10;
const MAX_VALUE_LENGTH = 256;
const MAX_IN_VALUES = 100;
const MAX_PATH_LENGTH = 1024;
const MAX_PATH_SEGMENTS = 16;

const OPS = ["eq", "neq", "in", "exists", "gt", "gte", "lt", "lte", "contains"] as const;
export type Op = Condition["op"];
export type Scalar = string | number | boolean | null;

export const isPreset = (value: string | null): value is Preset => value !== null && Object.hasOwn(PRESETS, value);

const validInstant = (value: string | null) => (value && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : undefined);

/** A dot path the server can address: 1–16 non-empty keys. Keys that hold a dot cannot be named this way. */
export function isFieldPath(path: unknown): path is string {
  if (typeof path !== "string" || path.length === 0 || path.length > MAX_PATH_LENGTH) return false;
  const segments = path.split(".");
  return segments.length <= MAX_PATH_SEGMENTS && segments.every((s) => s !== "") && !/[\u0000-\u001f]/.test(path);
}

/** A value an eq condition can compare: a JSON scalar, strings at most 256 characters. */
export function isScalar(value: unknown): value is Scalar {
  if (typeof value === "string") return value.length <= MAX_VALUE_LENGTH && value.isWellFormed() && !value.includes("\u0000");
  return value === null || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));
}

/** A condition from its URL form, `["field","op",value]`; undefined for anything else. */
export function parseCondition(text: string): Condition | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(raw) || raw.length < 2 || raw.length > 3) return undefined;
  const [field, op, value] = raw as [unknown, unknown, unknown];
  if (!isFieldPath(field) || typeof op !== "string" || !(OPS as readonly string[]).includes(op)) return undefined;
  switch (op as Op) {
    case "exists":
      return raw.length === 2 ? { field, op: "exists" } : undefined;
    case "eq":
    case "neq":
      return raw.length === 3 && isScalar(value) ? { field, op: op as "eq" | "neq", value } : undefined;
    case "in":
      return Array.isArray(value) && value.length >= 1 && value.length <= MAX_IN_VALUES && value.every(isScalar) ? { field, op: "in", value } : undefined;
    case "contains":
      return typeof value === "string" && value.length > 0 && isScalar(value) ? { field, op: "contains", value } : undefined;
    default:
      return (typeof value === "number" && Number.isFinite(value)) || (typeof value === "string" && isScalar(value))
        ? { field, op: op as "gt" | "gte" | "lt" | "lte", value }
        : undefined;
  }
}

/** A condition's URL form: a JSON triple, e.g. ["http.status","eq",500] (so "500" and 500 stay apart). */
export function conditionParam(condition: Condition): string {
  return JSON.stringify("value" in condition ? [condition.field, condition.op, condition.value] : [condition.field, condition.op]);
}

export const sameCondition = (a: Condition, b: Condition) => conditionParam(a) === conditionParam(b);

/** Free text as the server takes it: no control characters (a pasted tab becomes a space), at most 512 characters. */
export const cleanQuery = (q: string) => q.replace(/[\u0000-\u001f]/g, " ").slice(0, MAX_Q_LENGTH);

export function parseState(search: string): ViewState {
  const params = new URLSearchParams(search);
  const state: ViewState = { ...DEFAULT_STATE, where: [] };
  const from = validInstant(params.get("from"));
  const to = validInstant(params.get("to"));
  const range = params.get("range");
  if (from && to && Date.parse(from) <= Date.parse(to)) Object.assign(state, { range: "custom", from, to });
  else if (isPreset(range)) state.range = range;
  const type = params.get("type");
  if (type && (EVENT_TYPES as readonly string[]).includes(type)) state.eventType = type as EventType;
  // Not trimmed: " checkout " is a different service from "checkout", and both can exist.
  const service = params.get("service");
  if (service) state.service = service.slice(0, MAX_SERVICE_NAME_LENGTH);
  const q = cleanQuery(params.get("q") ?? "");
  if (q.trim()) state.q = q;
  for (const text of params.getAll("where")) {
    const condition = parseCondition(text);
    if (condition && state.where.length < MAX_CONDITIONS && !state.where.some((c) => sameCondition(c, condition))) state.where.push(condition);
  }
  if (params.get("stack") === "service") state.stack = "service";
  if (params.get("tz") === "utc") state.zone = "utc";
  const trace = params.get("trace");
  if (trace && trace.length <= MAX_ID_LENGTH) state.trace = trace;
  const event = params.get("event");
  if (event && event.length <= MAX_ID_LENGTH) state.event = event;
  // Live follows "now": a fixed range cannot be live.
  if (params.get("live") === "1" && state.range !== "custom") state.live = true;
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
  if (state.q) params.set("q", state.q);
  for (const condition of state.where) params.append("where", conditionParam(condition));
  if (state.stack !== DEFAULT_STATE.stack) params.set("stack", state.stack);
  if (state.zone !== DEFAULT_STATE.zone) params.set("tz", state.zone);
  if (state.trace) params.set("trace", state.trace);
  if (state.event) params.set("event", state.event);
  if (state.live) params.set("live", "1");
  return `?${params}`;
}

export interface TimeWindow {
  start: Date;
  end: Date;
}

/** The absolute window a state means now: presets end at `now`. */
export function resolveWindow(state: Pick<ViewState, "range" | "from" | "to">, now = Date.now()): TimeWindow {
  if (state.range === "custom" && state.from && state.to) return { start: new Date(state.from), end: new Date(state.to) };
  const span = PRESETS[state.range === "custom" ? "24h" : state.range];
  return { start: new Date(now - span), end: new Date(now) };
}

/** The same view with its window pinned, so a shared link shows the same events later. */
export function withAbsoluteRange(state: ViewState, window: TimeWindow): ViewState {
  return { ...state, range: "custom", from: window.start.toISOString(), to: window.end.toISOString(), live: false };
}

/** Clears the filters that name a tenant's data (services, values, traces): they mean nothing under another key. */
export const TENANT_FILTERS_CLEARED: Readonly<Partial<ViewState>> = Object.freeze({ service: undefined, q: undefined, where: [], trace: undefined, event: undefined });

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

/** How a condition reads on its chip: `http.status = 500`, `level ≠ "debug"`, `user exists`. */
export function describeCondition(condition: Condition): { field: string; op: string; value: string } {
  const symbols: Record<Op, string> = { eq: "=", neq: "≠", in: "in", exists: "exists", gt: ">", gte: "≥", lt: "<", lte: "≤", contains: "contains" };
  const value = "value" in condition ? JSON.stringify(condition.value) : "";
  return { field: condition.field, op: symbols[condition.op], value };
}
