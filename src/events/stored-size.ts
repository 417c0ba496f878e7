import { closingQuote } from "./json-text";

/**
 * PostgreSQL's jsonb keeps numbers as exact decimals and writes them back
 * without an exponent: 5e-324 comes back as "0.000…0005" (326 characters),
 * 1e308 as 309 digits. Payload limits count numbers in that form, so a limit
 * holds for what is stored and returned, not only for what was sent.
 */

/** Characters jsonb writes for `x`, which JSON.stringify writes as String(x). */
export function storedNumberLength(x: number): number {
  const text = String(x);
  const e = text.indexOf("e");
  if (e < 0) return text.length; // no exponent: jsonb writes the same digits
  const sign = x < 0 ? 1 : 0;
  const mantissa = text.slice(sign, e);
  const digits = mantissa.length - (mantissa.includes(".") ? 1 : 0);
  const exponent = Number(text.slice(e + 1));
  // 1.5e+21 → 22 integer digits; 1.5e-7 → "0." + 6 zeros + "15".
  return sign + (exponent >= 0 ? Math.max(digits, exponent + 1) : 1 + 1 + (-exponent - 1) + digits);
}

/** How many more bytes jsonb needs for `x` than JSON.stringify wrote. */
export function numberExpansion(x: number): number {
  // Only exponent forms expand: |x| ≥ 1e21 or 0 < |x| < 1e-6.
  const magnitude = Math.abs(x);
  if (magnitude === 0 || (magnitude >= 1e-6 && magnitude < 1e21)) return 0;
  return storedNumberLength(x) - String(x).length;
}

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
