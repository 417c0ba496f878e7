/**
 * Finds where a JSON text nests deeper than `maxDepth`, before JSON.parse
 * sees it: parsing a body nested 100 000 levels deep would cost time and
 * stack for nothing. Works on UTF-8 bytes (brackets, quotes and backslashes
 * are single bytes in UTF-8, never part of a multi-byte character).
 *
 * Returns the index of the offending batch element: elements are the items
 * of a top-level array ("array"), the non-blank lines of NDJSON ("lines"), or
 * the single value ("single", index 0).
 */
export type JsonLayout = "single" | "array" | "lines";

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d;
const SPACE = 0x20, TAB = 0x09, CR = 0x0d;

export function findTooDeep(bytes: Uint8Array, maxDepth: number, layout: JsonLayout): number | undefined {
  let depth = 0;
  let index = 0;
  let inString = false;
  let lineHasContent = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > maxDepth) return layout === "single" ? 0 : index;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
    else if (byte === COMMA && layout === "array" && depth === 1) index++;
    else if (byte === NEWLINE && layout === "lines") {
      if (lineHasContent) index++;
      lineHasContent = false;
      depth = 0; // a broken line must not shift the depth of the next one
      continue;
    }
    if (byte !== SPACE && byte !== TAB && byte !== CR) lineHasContent = true;
  }
  return undefined;
}
