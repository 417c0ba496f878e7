/**
 * An OTLP/JSON body parsed without its records: each element of a records
 * array (resourceSpans[].scopeSpans[].spans[], and the like) is cut out of
 * the text and replaced by its index, the rest (the skeleton) is parsed as
 * usual, and a record is parsed from its own text when it is converted.
 * Parsed whole, a 9.5 MiB export of small attributes was some 50 MiB of
 * objects before its first record was converted; this way one chunk's
 * records live at a time.
 *
 * JSON.parse still judges everything: the skeleton, and each record when it
 * is converted or refused (export-request.ts). The scan below only finds
 * where records start and end; on text it cannot follow, or when a repeated
 * member name hides records, the caller parses the body whole.
 */
import { closingQuote } from "../events/json-text.ts";
import type { SignalFields } from "./export-request.ts";

export interface JsonSkeleton {
  /** The body with every record replaced by its index into `records`. */
  request: unknown;
  /** Each record's text. */
  records: string[];
}

const QUOTE = 0x22, COMMA = 0x2c, COLON = 0x3a;
const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d;

interface Frame {
  array: boolean;
  /** An object's current member name. */
  key?: string;
  /** An object expects a member name next. */
  expectKey?: boolean;
}

/** The skeleton, or undefined when the text is not shaped so it can be cut (then parse it whole). */
export function parseSkeleton(text: string, fields: SignalFields): JsonSkeleton | undefined {
  const path = [fields.resources, fields.scopes, fields.records];
  const stack: Frame[] = [];
  const records: string[] = [];
  const pieces: string[] = [];
  let copiedTo = 0;
  /** True inside a records array: resources → [] → scopes → [] → records → []. */
  const inRecords = () =>
    stack.length === 6 && stack.every((frame, depth) => (depth % 2 === 1 ? frame.array : !frame.array && frame.key === path[depth / 2]));

  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char <= 0x20) continue; // whitespace (anything else there is refused by JSON.parse later)
    const top = stack.at(-1);
    if (top?.array && inRecords() && char !== CLOSE_BRACKET && char !== COMMA) {
      const end = valueEnd(text, i);
      if (end < 0) return undefined;
      // Spaced, so records with nothing between them cannot read as one number.
      pieces.push(text.slice(copiedTo, i), ` ${records.length} `);
      records.push(text.slice(i, end));
      copiedTo = end;
      i = end - 1;
      continue;
    }
    if (char === QUOTE) {
      const close = closingQuote(text, i + 1);
      if (close < 0) return undefined;
      if (top && !top.array && top.expectKey) {
        const raw = text.slice(i + 1, close);
        top.key = raw.includes("\\") ? (JSON.parse(text.slice(i, close + 1)) as string) : raw;
        top.expectKey = false;
      }
      i = close;
    } else if (char === OPEN_BRACE || char === OPEN_BRACKET) {
      stack.push(char === OPEN_BRACE ? { array: false, expectKey: true } : { array: true });
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
      if (stack.pop()?.array !== (char === CLOSE_BRACKET)) return undefined;
    } else if (char === COMMA) {
      if (top && !top.array) top.expectKey = true;
    } else if (char === COLON && top && !top.array && top.expectKey) {
      return undefined;
    }
  }
  if (stack.length > 0) return undefined;
  pieces.push(text.slice(copiedTo));
  const request = JSON.parse(pieces.join("")) as unknown;
  // A records array a repeated member name overrode is never converted, so never
  // parsed: JSON.parse would not see its text. Such a body is parsed whole.
  return placeholders(request, path) === records.length ? { request, records } : undefined;
}

/** How many record indexes the parsed skeleton holds along resources → scopes → records. */
function placeholders(value: unknown, path: string[]): number {
  const items = (container: unknown, key: string): unknown[] => {
    const member = container !== null && typeof container === "object" && !Array.isArray(container) ? (container as Record<string, unknown>)[key] : undefined;
    return Array.isArray(member) ? member : [];
  };
  let count = 0;
  for (const group of items(value, path[0]!)) {
    for (const scope of items(group, path[1]!)) count += items(scope, path[2]!).length;
  }
  return count;
}

/**
 * Where the value starting at `from` ends: past its closing bracket, or at
 * the comma, bracket or space after a scalar; -1 when none starts there.
 */
function valueEnd(text: string, from: number): number {
  const first = text.charCodeAt(from);
  if (first === QUOTE) {
    const close = closingQuote(text, from + 1);
    return close < 0 ? -1 : close + 1;
  }
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let i = from;
    while (i < text.length) {
      const char = text.charCodeAt(i);
      if (char === COMMA || char === CLOSE_BRACKET || char === CLOSE_BRACE || char <= 0x20) break;
      i++;
    }
    return i > from ? i : -1;
  }
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      i = closingQuote(text, i + 1);
      if (i < 0) return -1;
    } else if (char === OPEN_BRACE || char === OPEN_BRACKET) {
      depth++;
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}
