/**
 * Keeps a payload under the store's 64 KiB limit by degrading it instead of
 * rejecting the record: telemetry with one huge attribute (a stack trace, a
 * request body) is still worth storing, minus the bulk, with a note saying so.
 */
import { MAX_PAYLOAD_BYTES } from "../events/limits.ts";
import { storedJsonBytes } from "../events/stored-size.ts";
import type { JsonObject, JsonValue } from "./values.ts";

const MAX_STRING_AFTER_TRUNCATION = 1024;

export interface FittedPayload {
  json: string;
  /** Size as stored (numbers as the decimals jsonb keeps): at most MAX_PAYLOAD_BYTES. */
  bytes: number;
}

/** Returns `json` untouched when it fits (the common case: one length check). */
export function fitPayload(json: string, limit = MAX_PAYLOAD_BYTES): FittedPayload {
  const bytes = storedJsonBytes(json);
  if (bytes <= limit) return { json, bytes };
  return shrink(JSON.parse(json) as JsonObject, limit);
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
 * the record came from. The `truncated` note lists the dropped keys.
 */
export function fitAttributes(json: string, limit: number): string {
  if (storedJsonBytes(json) <= limit) return json;
  const counter = { n: 0 };
  const holder = truncateStrings(JSON.parse(json) as JsonObject, counter) as JsonObject;
  const attributes = (holder.attributes ?? {}) as JsonObject;
  const note = { reason: `exceeded ${limit} bytes`, truncatedStrings: counter.n, droppedAttributes: [] as string[] };
  holder.truncated = note;
  const sizes = Object.keys(attributes)
    .filter((key) => key !== "service.name")
    .map((key) => ({ key, size: JSON.stringify(attributes[key]).length + key.length }))
    .sort((a, b) => b.size - a.size);
  let out = JSON.stringify(holder);
  for (const { key } of sizes) {
    if (storedJsonBytes(out) <= limit) break;
    delete attributes[key];
    note.droppedAttributes.push(key);
    out = JSON.stringify(holder);
  }
  return out;
}

function truncateStrings(v: JsonValue, counter: { n: number }): JsonValue {
  if (typeof v === "string") {
    if (v.length <= MAX_STRING_AFTER_TRUNCATION) return v;
    counter.n++;
    // Slicing may split a surrogate pair; toWellFormed repairs the cut.
    return `${v.slice(0, MAX_STRING_AFTER_TRUNCATION).toWellFormed()}…`;
  }
  if (Array.isArray(v)) return v.map((x) => truncateStrings(x, counter));
  if (v !== null && typeof v === "object") {
    const out: JsonObject = Object.create(null);
    for (const key of Object.keys(v)) {
      out[truncateStrings(key, counter) as string] = truncateStrings(v[key]!, counter);
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
    const size = JSON.stringify(v).length;
    if (size > bestSize) {
      best = key;
      bestSize = size;
    }
  }
  return best;
}
