import { ApiError } from "../http/api-error";
import { MAX_PAYLOAD_DEPTH } from "../events/limits";
import { findTooDeep } from "../events/json-text";

export type BodyFormat = "json" | "ndjson";

/** Which body format a Content-Type names; anything else is 415. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType === "application/json" || mediaType === "") return "json";
  if (mediaType === "application/x-ndjson" || mediaType === "application/ndjson" || mediaType === "application/jsonl") {
    return "ndjson";
  }
  throw new ApiError("unsupported_media_type", `Content-Type "${mediaType}" is not supported; use application/json or application/x-ndjson`);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ApiError("invalid_json", "Request body is not valid UTF-8");
  }
}

// An event object sits at depth 1 (single) or 2 (in an array); its payload
// adds up to MAX_PAYLOAD_DEPTH more levels.
const tooDeep = (index: number) =>
  new ApiError("validation_failed", "Request validation failed", {
    details: [{ index, path: "payload", message: `nesting deeper than ${MAX_PAYLOAD_DEPTH} levels` }],
  });

/**
 * Turns a body into the list of raw items to validate: one JSON event, a JSON
 * array of events, or NDJSON lines. Limits on count are checked by the caller.
 */
export function parseEvents(bytes: Uint8Array, format: BodyFormat): unknown[] {
  if (format === "ndjson") return parseNdjson(bytes);

  const text = decodeUtf8(bytes);
  const trimmed = text.trimStart();
  const isArray = trimmed.startsWith("[");
  const deepAt = findTooDeep(text, (isArray ? 2 : 1) + MAX_PAYLOAD_DEPTH, isArray ? "array" : "single");
  if (deepAt !== undefined) throw tooDeep(deepAt);

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ApiError("invalid_json", `Malformed JSON: ${(error as Error).message}`);
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw new ApiError("validation_failed", "The batch is empty: send at least one event", {
        details: [{ path: "(body)", message: "array must contain at least 1 event" }],
      });
    }
    return value;
  }
  if (typeof value === "object" && value !== null) return [value];
  throw new ApiError("validation_failed", "Body must be an event object or an array of events", {
    details: [{ path: "(body)", message: "expected an object or an array" }],
  });
}

function parseNdjson(bytes: Uint8Array): unknown[] {
  const text = decodeUtf8(bytes);
  const deepAt = findTooDeep(text, 1 + MAX_PAYLOAD_DEPTH, "lines");
  if (deepAt !== undefined) throw tooDeep(deepAt);
  const lines = text.split("\n");
  const items: unknown[] = [];
  for (let lineNo = 0; lineNo < lines.length; lineNo++) {
    const line = lines[lineNo]!.trim();
    if (line === "") continue;
    try {
      items.push(JSON.parse(line));
    } catch (error) {
      throw new ApiError("invalid_json", `Malformed JSON on line ${lineNo + 1}: ${(error as Error).message}`);
    }
  }
  if (items.length === 0) {
    throw new ApiError("validation_failed", "The batch is empty: send at least one event", {
      details: [{ path: "(body)", message: "no event lines" }],
    });
  }
  return items;
}
