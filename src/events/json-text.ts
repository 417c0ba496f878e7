/**
 * Finds where a JSON text nests deeper than `maxDepth`, before JSON.parse
 * sees it: JSON.parse takes about 80 ms for a megabyte of nested brackets, so
 * a hostile body would cost a hundred times its normal parse; this scan costs
 * less than the parse of an ordinary body. Brackets, quotes and backslashes
 * are single UTF-16 units and never part of a surrogate pair.
 *
 * Returns the index of the offending batch element: elements are the items
 * of a top-level array ("array"), the non-blank lines of NDJSON ("lines"), or
 * the single value ("single", index 0).
 */
export type JsonLayout = "single" | "array" | "lines";

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d;
const SPACE = 0x20, TAB = 0x09, CR = 0x0d;

export function findTooDeep(text: string, maxDepth: number, layout: JsonLayout): number | undefined {
  let depth = 0;
  let index = 0;
  let lineHasContent = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      // Most of a body is string content: jump over it with indexOf rather
      // than looking at each character (twice as fast on typical batches).
      i = closingQuote(text, i + 1);
      if (i < 0) return undefined; // unterminated: JSON.parse refuses it
      lineHasContent = true;
      continue;
    }
    if (char === OPEN_BRACE || char === OPEN_BRACKET) {
      if (++depth > maxDepth) return layout === "single" ? 0 : index;
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) depth--;
    else if (char === COMMA && layout === "array" && depth === 1) index++;
    else if (char === NEWLINE && layout === "lines") {
      if (lineHasContent) index++;
      lineHasContent = false;
      depth = 0; // a broken line must not shift the depth of the next one
      continue;
    }
    if (char !== SPACE && char !== TAB && char !== CR) lineHasContent = true;
  }
  return undefined;
}

/** Index of the quote that ends a string whose content starts at `from`; -1 if none. */
export function closingQuote(text: string, from: number): number {
  for (;;) {
    const at = text.indexOf('"', from);
    if (at < 0) return -1;
    // Escaped only when preceded by an odd run of backslashes.
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    from = at + 1;
  }
}
