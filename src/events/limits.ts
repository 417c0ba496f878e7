/**
 * The rules an event must meet to be stored, shared by /ingest, OTLP and the
 * query window checks. No imports: the explorer's bundle may use them too.
 */

/** Serialized payload as stored (stored-size.ts), in bytes. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Object and array levels inside a payload. */
export const MAX_PAYLOAD_DEPTH = 32;
/** eventId and serviceName, in UTF-16 code units. */
export const MAX_ID_LENGTH = 128;
export const MAX_SERVICE_NAME_LENGTH = 128;
/**
 * A payload's trace id (traceId or trace_id, lowercased as it is looked up
 * by) and its string level, in UTF-16 code units. Both go into B-tree keys
 * (the trace index, the count tables' keys), which hold at most 2704 bytes:
 * longer ones are refused, not left to fail the statement that writes them
 * and the requests sharing it. A trace id is as long as GET /traces/{id}
 * takes.
 */
export const MAX_TRACE_ID_LENGTH = MAX_ID_LENGTH;
export const MAX_LEVEL_LENGTH = 256;
/** Event timestamps may run this far ahead of the server's clock (clock skew, batching). */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

/**
 * The instants the vault stores and queries, after the offset is applied:
 * 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z. Event timestamps,
 * query windows and cursors are all checked against this one range, so no
 * instant PostgreSQL or toISOString() cannot write ever reaches a statement.
 */
export const MIN_TIME_MS = 0;
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
export const TIME_RANGE_MESSAGE = "must be between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z";

export function isSupportedTime(ms: number): boolean {
  return ms >= MIN_TIME_MS && ms <= MAX_TIME_MS;
}

/** Strings PostgreSQL can store: no NUL character, no lone UTF-16 surrogate. */
export function storableTextProblem(value: string): string | undefined {
  if (value.includes("\u0000")) return "must not contain the NUL character (\\u0000)";
  if (!value.isWellFormed()) return "must not contain lone UTF-16 surrogates";
  return undefined;
}

/** Top values a field groupBy lists; the rest are counted in one `other` entry. */
export const MAX_FIELD_GROUPS = 100;
