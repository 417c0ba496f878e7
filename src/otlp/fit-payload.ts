/**
 * Keeps a payload under the store's 64 KiB limit by degrading it instead of
 * rejecting the record: telemetry with one huge attribute (a stack trace, a
 * request body) is still worth storing, minus the bulk, with a note saying so.
 */
import { MAX_PAYLOAD_BYTES } from "../events/limits.ts";
import { storedJsonBytes } from "../events/stored-size.ts";
import { jsonLength } from "./json-pieces.ts";
import type { JsonObject, JsonValue } from "./values.ts";

const MAX_STRING_AFTER_TRUNCATION = 1024;
const LAST_RESORT_STRING = 200;
/** A trimmed resource or scope names this many of the attributes it dropped, and counts the rest. */
const MAX_LISTED_KEYS = 20;

export interface FittedPayload {
  json: string;
  /** Size as stored (numbers as the decimals jsonb keeps): at most MAX_PAYLOAD_BYTES. */
  bytes: number;
}

/**
 * Returns `json` untouched when it fits (the common case: one length check).
 * `parsed` gives the same payload as objects, when the caller still has
 * them: parsing megabytes of text again would double what a large record
 * holds in memory.
 */
export function fitPayload(json: string, limit = MAX_PAYLOAD_BYTES, parsed = () => JSON.parse(json) as JsonObject): FittedPayload {
  const bytes = storedJsonBytes(json);
  if (bytes <= limit) return { json, bytes };
  return shrink(parsed(), limit);
}

/** A payload known to be over `limit` (its text at least that long), trimmed from its objects. */
export function fitOversized(payload: JsonObject, limit = MAX_PAYLOAD_BYTES): FittedPayload {
  return shrink(payload, limit);
}

/**
 * Two steps, each only if still too large: cut every long string to 1 KiB,
 * then drop whole top-level objects/arrays (attributes, events, body, resource,
 * ...) largest first. Scalars (ids, name, timestamps) always survive, so the
 * event stays findable. The `truncated` note records what was lost.
 */
function shrink(payload: JsonObject, limit: number): FittedPayload {
  const note = {
    reason: `payload exceeded ${limit} bytes`,
    truncatedStrings: 0,
    droppedFields: [] as string[],
  };
  const counter = { n: 0 };
  for (const key of Object.keys(payload)) payload[key] = truncateStrings(payload[key]!, counter);
  note.truncatedStrings = counter.n;
  payload.truncated = note;
  // While the text is surely too long (stored bytes are never fewer than its
  // characters), drop by counting: writing megabytes out only to drop them costs as much again.
  while (jsonLength(payload) > limit) {
    const largest = largestContainer(payload);
    if (largest === null) break;
    delete payload[largest];
    note.droppedFields.push(largest);
  }
  let json = JSON.stringify(payload);
  let bytes = storedJsonBytes(json);
  while (bytes > limit) {
    const largest = largestContainer(payload);
    if (largest === null) break; // cannot happen: scalars are short by now
    delete payload[largest];
    note.droppedFields.push(largest);
    json = JSON.stringify(payload);
    bytes = storedJsonBytes(json);
  }
  return { json, bytes };
}

/**
 * For a resource or scope, `{attributes, ...}` copied into every record:
 * past `limit`, long strings are cut to 1 KiB, then the largest attributes
 * dropped one by one (never service.name), so what stays still says where
 * the record came from. The `truncated` note counts the dropped attributes
 * and names the first few.
 */
export function fitAttributes(json: string, limit: number): string {
  if (storedJsonBytes(json) <= limit) return json;
  const counter = { n: 0 };
  const holder = truncateStrings(JSON.parse(json) as JsonObject, counter) as JsonObject;
  const attributes = (holder.attributes ?? {}) as JsonObject;
  const note = { reason: `exceeded ${limit} bytes`, truncatedStrings: counter.n, droppedAttributes: 0, droppedKeys: [] as string[] };
  holder.truncated = note;
  // Sizes measured once: dropping one by one and measuring again would cost
  // the square of the attribute count.
  const entries = Object.keys(attributes)
    .filter((key) => key !== "service.name")
    .map((key) => ({ key, size: storedJsonBytes(`${JSON.stringify(key)}:${JSON.stringify(attributes[key])},`) }))
    .sort((a, b) => b.size - a.size);
  const drop = (at: number) => {
    const { key } = entries[at]!;
    delete attributes[key];
    note.droppedAttributes++;
    if (note.droppedKeys.length < MAX_LISTED_KEYS) note.droppedKeys.push(key);
  };
  let next = 0;
  // Drop by the measured sizes, then by the exact text (the note grows as it names keys).
  for (let bytes = storedJsonBytes(JSON.stringify(holder)); bytes > limit && next < entries.length; next++) {
    bytes -= entries[next]!.size;
    drop(next);
  }
  let out = JSON.stringify(holder);
  for (; storedJsonBytes(out) > limit && next < entries.length; next++) {
    drop(next);
    out = JSON.stringify(holder);
  }
  // Still over (long names, versions, URLs): every string to a few hundred characters.
  if (storedJsonBytes(out) > limit) out = JSON.stringify(truncateStrings(holder, counter, LAST_RESORT_STRING));
  return out;
}

function truncateStrings(v: JsonValue, counter: { n: number }, max = MAX_STRING_AFTER_TRUNCATION): JsonValue {
  if (typeof v === "string") {
    if (v.length <= max) return v;
    counter.n++;
    // Slicing may split a surrogate pair; toWellFormed repairs the cut.
    return `${v.slice(0, max).toWellFormed()}…`;
  }
  if (Array.isArray(v)) return v.map((x) => truncateStrings(x, counter, max));
  if (v !== null && typeof v === "object") {
    const out: JsonObject = Object.create(null);
    for (const key of Object.keys(v)) {
      out[truncateStrings(key, counter, max) as string] = truncateStrings(v[key]!, counter, max);
    }
    return out;
  }
  return v;
}

function largestContainer(payload: JsonObject): string | null {
  let best: string | null = null;
  let bestSize = -1;
  for (const key of Object.keys(payload)) {
    const v = payload[key];
    if (key === "truncated" || v === null || typeof v !== "object") continue;
    const size = jsonLength(v);
    if (size > bestSize) {
      best = key;
      bestSize = size;
    }
  }
  return best;
}
