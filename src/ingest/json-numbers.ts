import { closingQuote } from "./json-depth";
import { numberExpansion } from "./stored-number";

const QUOTE = 0x22;
const NUMBER_CHAR = /[0-9eE.+-]/;

/**
 * Bytes jsonb needs beyond `json` for its numbers (see stored-number.ts), read
 * from the serialized text. JSON.stringify writes an exponent only as "e+" or
 * "e-", so text without either (nearly all of it) costs two searches.
 */
export function jsonNumberExpansion(json: string): number {
  if (!json.includes("e+") && !json.includes("e-")) return 0;
  let extra = 0;
  for (let i = 0; i < json.length; i++) {
    const char = json.charCodeAt(i);
    if (char === QUOTE) {
      i = closingQuote(json, i + 1);
      if (i < 0) break;
      continue;
    }
    if (char === 0x2d /* - */ || (char >= 0x30 && char <= 0x39)) {
      let end = i + 1;
      while (end < json.length && NUMBER_CHAR.test(json[end]!)) end++;
      extra += numberExpansion(Number(json.slice(i, end)));
      i = end - 1;
    }
  }
  return extra;
}

/** What a payload serialized by JSON.stringify takes as stored: UTF-8 bytes plus number expansion. */
export function storedJsonBytes(json: string): number {
  return Buffer.byteLength(json, "utf8") + jsonNumberExpansion(json);
}
