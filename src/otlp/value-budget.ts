/**
 * How many values one record may hold before it is decoded.
 *
 * Decoding a protobuf record makes an object per nested message (an
 * attribute is two: its KeyValue and its AnyValue), and converting it makes
 * as many again. One span of 10 MiB of tiny attributes (480,000 of them) took
 * 250 MiB of server memory, most of it before its payload was cut to 64 KiB.
 * So a record's values are counted first, on the wire, without decoding:
 * over the budget, the record is refused (partial success) and never becomes
 * objects. OpenTelemetry SDKs keep to 128 attributes, events and links per
 * span by default; 128 events of 128 attributes each are 33,000 values, so
 * the budget refuses nothing an SDK sends with its defaults.
 *
 * A value is a nested message (protobuf) or a nested object (OTLP/JSON): the
 * two encodings count the same record alike. A metric's data points are
 * counted each on its own, as each becomes its own event; a metric with a
 * point over the budget is refused whole. A resource or scope is copied
 * into every record it carries, so one over the budget refuses them all.
 */
import protobuf from "protobufjs";

export const MAX_RECORD_VALUES = 50_000;

/** Why a record was refused, after what held too many: "record", "resource" or "scope". */
export const OVER_BUDGET = `holds more than ${MAX_RECORD_VALUES} values`;

/** Where a record's separately counted units (a metric's data points) are. */
export interface RecordUnits {
  /** Protobuf: the message types counted on their own. */
  types: ReadonlySet<protobuf.Type>;
  /** OTLP/JSON: the record's fields whose object holds the units in `dataPoints`. */
  holders: readonly string[];
}

const NO_UNITS: RecordUnits = { types: new Set(), holders: [] };

/**
 * True when the encoded record (of `type`) holds more values than the
 * budget. Every nested message takes at least two bytes (tag and length),
 * so a record under twice the budget in bytes is within it unread.
 */
export function protobufOverBudget(type: protobuf.Type, bytes: Uint8Array, units: RecordUnits = NO_UNITS, limit = MAX_RECORD_VALUES): boolean {
  if (bytes.length < 2 * limit) return false;
  const reader = protobuf.Reader.create(bytes);
  return countMessages(type, reader, bytes.length, { n: 0 }, units, limit);
}

/** Walks one message's fields up to `end`; true as soon as a counter passes `limit`. */
function countMessages(type: protobuf.Type, reader: protobuf.Reader, end: number, counter: { n: number }, units: RecordUnits, limit: number): boolean {
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    const nested = wireType === 2 ? type.fieldsById[tag >>> 3]?.resolvedType : undefined;
    if (!(nested instanceof protobuf.Type)) {
      reader.skipType(wireType);
      continue;
    }
    const length = reader.uint32();
    const stop = reader.pos + length;
    if (units.types.has(nested)) {
      if (countMessages(nested, reader, stop, { n: 0 }, units, limit)) return true;
    } else {
      if (++counter.n > limit) return true;
      if (countMessages(nested, reader, stop, counter, units, limit)) return true;
    }
    reader.pos = stop;
  }
  return false;
}

/**
 * Whether OTLP/JSON (a body's bytes, or one record's text) could hold a
 * record over the budget: every object opens with a brace, so text with no
 * more braces than the budget cannot (a typical export of 1,000 spans has
 * 30,000), and its records need no count. Native searches, stopping once
 * past the budget.
 */
export function jsonMayExceed(text: Buffer | string, limit = MAX_RECORD_VALUES): boolean {
  const find = (from: number) => (typeof text === "string" ? text.indexOf("{", from) : text.indexOf(0x7b, from));
  let braces = 0;
  for (let at = find(0); at !== -1; at = find(at + 1)) {
    if (++braces > limit) return true;
  }
  return false;
}

/** The same count over a parsed OTLP/JSON record. */
export function jsonOverBudget(record: unknown, units: RecordUnits = NO_UNITS, limit = MAX_RECORD_VALUES): boolean {
  if (!isObject(record)) return false;
  const counter = { n: 0 };
  for (const [key, value] of Object.entries(record)) {
    if (units.holders.includes(key) && isObject(value)) {
      if (++counter.n > limit) return true;
      for (const [inner, points] of Object.entries(value)) {
        if (inner === "dataPoints" && Array.isArray(points)) {
          for (const point of points) if (countObjects(point, { n: 0 }, limit, true)) return true;
        } else if (countObjects(points, counter, limit)) return true;
      }
    } else if (countObjects(value, counter, limit)) return true;
  }
  return false;
}

/** Counts the objects in `value` (itself too, unless it is the unit being counted). */
function countObjects(value: unknown, counter: { n: number }, limit: number, isUnit = false): boolean {
  if (Array.isArray(value)) {
    for (const item of value) if (countObjects(item, counter, limit)) return true;
    return false;
  }
  if (!isObject(value)) return false;
  if (!isUnit && ++counter.n > limit) return true;
  for (const key in value) if (countObjects(value[key], counter, limit)) return true;
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
