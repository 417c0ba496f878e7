/**
 * What search reads of an event, computed once at ingest and stored beside
 * it (sql/007): the text free-text terms are matched in, and its trace id.
 */

/**
 * Separates the values in an event's search text. A search term may not
 * contain it, so a term is a substring of one value exactly when it is a
 * substring of the joined text.
 */
export const SEARCH_SEPARATOR = "\u001f";

/** Every string value of the payload, then the event id, lowercased and joined by SEARCH_SEPARATOR. */
export function searchText(values: string[], eventId: string): string {
  values.push(eventId);
  return values.join(SEARCH_SEPARATOR).toLowerCase();
}

/** Every string value anywhere in a JSON value (object keys excluded), in `into`. */
export function collectStrings(value: unknown, into: string[] = []): string[] {
  if (typeof value === "string") into.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, into);
  else if (value !== null && typeof value === "object") for (const key in value) collectStrings((value as Record<string, unknown>)[key], into);
  return into;
}

/** A top-level traceId or trace_id string, lowercased (hex ids compare case-insensitively); null without one. */
export function traceIdOf(payload: Record<string, unknown>): string | null {
  const id = typeof payload.traceId === "string" ? payload.traceId : typeof payload.trace_id === "string" ? payload.trace_id : undefined;
  return id === undefined ? null : id.toLowerCase();
}
