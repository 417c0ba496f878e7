/**
 * A record's JSON text measured or handed out in pieces, without building it:
 * a record of 10 MiB as one string cost +27 MiB of memory at its peak, only
 * to learn that it must be trimmed (fit-payload.ts) and to hash it as
 * received (batch.ts). Both give exactly what JSON.stringify would.
 */
import type { JsonValue } from "./values.ts";

/** Characters JSON.stringify writes differently from the string itself. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(value).length, counted. */
export function jsonLength(value: JsonValue): number {
  if (typeof value === "string") return quotedLength(value);
  if (typeof value !== "object" || value === null) return JSON.stringify(value).length;
  if (Array.isArray(value)) {
    let length = 2 + Math.max(0, value.length - 1);
    for (const item of value) length += item === undefined ? 4 : jsonLength(item);
    return length;
  }
  let length = 2;
  let entries = 0;
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (item === undefined) continue;
    length += (entries++ > 0 ? 1 : 0) + quotedLength(key) + 1 + jsonLength(item);
  }
  return length;
}

function quotedLength(text: string): number {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text).length : text.length + 2;
}

/**
 * Hands JSON.stringify(object) to `write` in pieces, except for its closing
 * brace: the caller may add members before closing it. Returns whether any
 * member was written.
 */
export function writeOpenObject(object: Record<string, JsonValue>, write: (piece: string) => void): boolean {
  write("{");
  let entries = 0;
  for (const key of Object.keys(object)) {
    const item = object[key];
    if (item === undefined) continue;
    write(`${entries++ > 0 ? "," : ""}${JSON.stringify(key)}:`);
    writeJson(item, write);
  }
  return entries > 0;
}

function writeJson(value: JsonValue, write: (piece: string) => void): void {
  if (typeof value !== "object" || value === null) return write(JSON.stringify(value));
  if (Array.isArray(value)) {
    write("[");
    // An index loop, not forEach: a hole is `null` in JSON.stringify, and forEach skips holes.
    for (let i = 0; i < value.length; i++) {
      if (i > 0) write(",");
      const item = value[i];
      if (item === undefined) write("null");
      else writeJson(item, write);
    }
    return write("]");
  }
  writeOpenObject(value, write);
  write("}");
}
