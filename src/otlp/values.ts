/**
 * Field readers shared by the protobuf and JSON paths.
 *
 * Both encodings arrive as the same lowerCamelCase object tree: protobufjs
 * messages (64-bit ints as Long, bytes as Uint8Array, enums as numbers) or
 * parsed OTLP/JSON (64-bit ints as strings or numbers, ids as hex, enums as
 * numbers or names). Every reader accepts both so one converter serves both,
 * and both produce byte-identical payloads (and thus identical event ids).
 *
 * Everything returned here is already safe for the event store: strings
 * without NUL or lone surrogates, finite numbers, bounded nesting.
 */
import { OtlpDecodeError } from "./errors.ts";

/** protobufjs' Long, structurally (we never construct one). */
interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
  toString(): string;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A Unix time in nanoseconds, split so that no part exceeds 2^53. */
export interface UnixNanos {
  /** Whole milliseconds since the epoch. */
  ms: number;
  /** Remaining nanoseconds, 0..999_999. */
  subMs: number;
}

export const ZERO_NANOS: UnixNanos = Object.freeze({ ms: 0, subMs: 0 });

/**
 * AnyValue nesting kept in payloads. The store rejects payloads nested deeper
 * than 32; the deepest container path we build around an attribute value is
 * payload → events → event → attributes (4), so 16 leaves ample margin.
 */
export const MAX_VALUE_DEPTH = 16;
const TOO_DEEP = "[value nested too deeply]";

const EMPTY: readonly never[] = Object.freeze([]);
const HEX_RE = /^[0-9a-fA-F]*$/;
const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;
const UINT_RE = /^\d+$/;
/** fixed64, the wire type of OTLP's times. */
const MAX_UINT64 = 2n ** 64n - 1n;
const INT_RE = /^-?\d+$/;
const TWO_32 = 4294967296;

function isLong(v: unknown): v is LongLike {
  return typeof v === "object" && v !== null && typeof (v as LongLike).low === "number";
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

// --- structure -------------------------------------------------------------

/** A repeated field: absent → empty; anything but an array is malformed. */
export function list<T = any>(v: unknown, what: string): readonly T[] {
  if (v === undefined || v === null) return EMPTY;
  if (Array.isArray(v)) return v as T[];
  throw new OtlpDecodeError(`${what} must be an array`);
}

/** A message field: absent → null; anything but an object is malformed. */
export function message<T = any>(v: unknown, what: string): T | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "object" && !Array.isArray(v)) return v as T;
  throw new OtlpDecodeError(`${what} must be an object`);
}

/**
 * Presence of an optional scalar (proto3 `optional`, oneof members).
 * protobufjs keeps defaults on the prototype and sets an own property only
 * for fields present on the wire; JSON.parse only creates present keys.
 */
export function has(obj: object, key: string): boolean {
  return Object.hasOwn(obj, key) && (obj as Record<string, unknown>)[key] != null;
}

// --- strings ---------------------------------------------------------------

/** NUL → U+FFFD, lone surrogates → U+FFFD: the store rejects both. */
export function cleanString(s: string): string {
  if (s.indexOf("\u0000") !== -1) s = s.replaceAll("\u0000", "\uFFFD");
  if (!s.isWellFormed()) s = s.toWellFormed();
  return s;
}

export function readString(v: unknown, what: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return cleanString(v);
  throw new OtlpDecodeError(`${what} must be a string`);
}

/** Cuts to at most `max` UTF-16 code units without splitting a surrogate pair. */
export function truncateString(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

// --- ids and bytes ---------------------------------------------------------

/**
 * A trace/span id as lowercase hex ("" when absent). OTLP/JSON carries ids as
 * hex; a few senders wrongly use base64 (proto3 JSON's default for bytes), so
 * a non-hex string that decodes as base64 is accepted too.
 */
export function readId(v: unknown, what: string): string {
  // protobufjs' default for an absent bytes field is an empty plain array.
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return "";
  if (isBytes(v)) return v.length === 0 ? "" : asBuffer(v).toString("hex");
  if (typeof v === "string") {
    if (HEX_RE.test(v)) return v.length % 2 === 0 ? v.toLowerCase() : invalidId(what);
    if (BASE64_RE.test(v)) return Buffer.from(v, "base64").toString("hex");
  }
  return invalidId(what);
}

function invalidId(what: string): never {
  throw new OtlpDecodeError(`${what} must be a hex string`);
}

/** An id is valid when it has the expected byte length and is not all zeroes. */
export function isValidId(hex: string, bytes: number): boolean {
  if (hex.length !== bytes * 2) return false;
  for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48 /* "0" */) return true;
  return false;
}

/** A bytes AnyValue as canonical base64 (as proto3 JSON would render it). */
function readBytesValue(v: unknown, what: string): string {
  if (isBytes(v)) return asBuffer(v).toString("base64");
  if (typeof v === "string" && BASE64_RE.test(v)) return Buffer.from(v, "base64").toString("base64");
  throw new OtlpDecodeError(`${what} must be base64`);
}

// --- numbers ---------------------------------------------------------------

/**
 * A (u)int64 as a JSON-safe value: a number when it is a safe integer, else
 * its exact decimal string (the store requires finite numbers and we never
 * want silent rounding).
 */
export function readInt64(v: unknown, what: string): number | string {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new OtlpDecodeError(`${what} must be an integer`);
    return Number.isSafeInteger(v) ? v : BigInt(v).toString();
  }
  if (typeof v === "string") {
    if (!INT_RE.test(v)) throw new OtlpDecodeError(`${what} must be an integer`);
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : BigInt(v).toString();
  }
  if (isLong(v)) {
    const high = v.unsigned ? v.high >>> 0 : v.high;
    const n = high * TWO_32 + (v.low >>> 0);
    // Exact whenever the true value is a safe integer; otherwise Long's own
    // toString is exact where the double is not.
    return Number.isSafeInteger(n) ? n : v.toString();
  }
  throw new OtlpDecodeError(`${what} must be an integer`);
}

/** A uint32/int32 field (counts, flags, scale). JSON may quote them. */
export function readInt32(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && INT_RE.test(v)) return Number(v);
  throw new OtlpDecodeError(`${what} must be an integer`);
}

/**
 * A double. Non-finite values (NaN staleness markers, ±Infinity bounds) are
 * legal in OTLP but not in the store, so they become the strings proto3 JSON
 * uses for them.
 */
export function readDouble(v: unknown, what: string): number | string {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") return Number.isFinite(v) ? v : nonFinite(v);
  if (typeof v === "string") {
    if (v === "NaN" || v === "Infinity" || v === "-Infinity") return v;
    const n = Number(v);
    if (v.trim() !== "" && !Number.isNaN(n)) return Number.isFinite(n) ? n : nonFinite(n);
  }
  throw new OtlpDecodeError(`${what} must be a number`);
}

function nonFinite(n: number): string {
  return Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
}

/** An enum: a number (open enums keep unknown values) or, in JSON, its name. */
export function readEnum(v: unknown, names: Record<string, number>, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string") {
    const n = names[v];
    if (n !== undefined) return n;
    if (INT_RE.test(v)) return Number(v);
  }
  throw new OtlpDecodeError(`${what} has an unknown value`);
}

// --- timestamps ------------------------------------------------------------

/**
 * A fixed64 nanosecond timestamp, converted exactly. Nanoseconds since 1970
 * exceed 2^53, so the value is split into milliseconds and the sub-ms rest
 * without ever materialising the full number as a double.
 */
export function readNanos(v: unknown, what: string): UnixNanos {
  if (v === undefined || v === null) return ZERO_NANOS;
  if (isLong(v)) {
    // hi·2^32 + lo = hi·4294·10^6 + (hi·967296 + lo); the bracket < 2^53.
    const hi = v.high >>> 0;
    const rest = hi * 967296 + (v.low >>> 0);
    const restMs = Math.floor(rest / 1e6);
    return { ms: hi * 4294 + restMs, subMs: rest - restMs * 1e6 };
  }
  if (typeof v === "string") {
    if (!UINT_RE.test(v)) throw new OtlpDecodeError(`${what} must be an unsigned integer`);
    if (v.length <= 15) return splitSafeNanos(Number(v));
    if (BigInt(v) > MAX_UINT64) throw new OtlpDecodeError(`${what} must fit in 64 bits`);
    return { ms: Number(v.slice(0, -6)), subMs: Number(v.slice(-6)) };
  }
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0) throw new OtlpDecodeError(`${what} must be an unsigned integer`);
    // JSON.parse rounds the largest fixed64, 2^64 - 1, to 2^64: that one still fits.
    if (v > 2 ** 64) throw new OtlpDecodeError(`${what} must fit in 64 bits`);
    if (Number.isSafeInteger(v)) return splitSafeNanos(v);
    // Already rounded by JSON.parse; split the double's exact value.
    const big = BigInt(v);
    return { ms: Number(big / 1_000_000n), subMs: Number(big % 1_000_000n) };
  }
  throw new OtlpDecodeError(`${what} must be an unsigned integer`);
}

function splitSafeNanos(n: number): UnixNanos {
  const ms = Math.floor(n / 1e6);
  return { ms, subMs: n - ms * 1e6 };
}

export function isZeroNanos(t: UnixNanos): boolean {
  return t.ms === 0 && t.subMs === 0;
}

/** Exact decimal nanoseconds, as OTLP/JSON writes them. */
export function nanosToString(t: UnixNanos): string {
  if (t.ms === 0) return String(t.subMs);
  return String(t.ms) + String(t.subMs).padStart(6, "0");
}

/** b − a in nanoseconds: exact while the span is shorter than ~104 days. */
export function nanosDiff(a: UnixNanos, b: UnixNanos): number {
  return (b.ms - a.ms) * 1e6 + (b.subMs - a.subMs);
}

// --- attributes ------------------------------------------------------------

/**
 * An AnyValue as plain JSON. Maps become null-prototype objects so a key like
 * "__proto__" is stored as data instead of changing the object's prototype.
 */
export function readAnyValue(v: unknown, depth: number = MAX_VALUE_DEPTH): JsonValue {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) throw new OtlpDecodeError("AnyValue must be an object");
  const a = v as Record<string, unknown>;
  if (has(a, "stringValue")) return readString(a.stringValue, "stringValue");
  if (has(a, "intValue")) return readInt64(a.intValue, "intValue");
  if (has(a, "doubleValue")) return readDouble(a.doubleValue, "doubleValue");
  if (has(a, "boolValue")) {
    if (typeof a.boolValue !== "boolean") throw new OtlpDecodeError("boolValue must be a boolean");
    return a.boolValue;
  }
  if (has(a, "arrayValue")) {
    if (depth <= 0) return TOO_DEEP;
    const values = list(message<{ values?: unknown }>(a.arrayValue, "arrayValue")?.values, "arrayValue.values");
    const out = new Array<JsonValue>(values.length);
    for (let i = 0; i < values.length; i++) out[i] = readAnyValue(values[i], depth - 1);
    return out;
  }
  if (has(a, "kvlistValue")) {
    if (depth <= 0) return TOO_DEEP;
    return readAttributes(message<{ values?: unknown }>(a.kvlistValue, "kvlistValue")?.values, depth - 1);
  }
  if (has(a, "bytesValue")) return readBytesValue(a.bytesValue, "bytesValue");
  return null; // an empty AnyValue is legal and means "no value"
}

/** A repeated KeyValue flattened to key → value (last duplicate wins). */
export function readAttributes(kvs: unknown, depth: number = MAX_VALUE_DEPTH): JsonObject {
  const out: JsonObject = Object.create(null);
  const items = list<{ key?: unknown; value?: unknown }>(kvs, "attributes");
  for (let i = 0; i < items.length; i++) {
    const kv = items[i];
    if (typeof kv !== "object" || kv === null) throw new OtlpDecodeError("attribute must be an object");
    out[readString(kv.key, "attribute key")] = readAnyValue(kv.value, depth);
  }
  return out;
}

/** Known enum values by name; unknown ones (open enums) keep their number. */
export function enumName(names: readonly string[], n: number): JsonValue {
  return names[n] ?? n;
}

/** Counters that are almost always 0 are only written when they say something. */
export function putCount(out: JsonObject, key: string, v: unknown): void {
  const n = readInt32(v, key);
  if (n) out[key] = n;
}

export function readBool(v: unknown, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  throw new OtlpDecodeError(`${what} must be a boolean`);
}
