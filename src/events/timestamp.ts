/**
 * Event timestamps: ISO-8601 date-times with an explicit offset.
 *
 * parseTimestamp reads one at fixed positions instead of calling Date.parse,
 * which cost a tenth of the service's CPU on a 1000-event batch (it ran twice
 * per event). It gives what Date.parse gives,
 * except that days the month does not have (2026-02-30), which Date.parse
 * rolls over into the next month, are refused: tests/ingest/timestamp.test.ts
 * checks both on random and edge-case timestamps.
 */
export const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

const COLON = 0x3a, DOT = 0x2e, PLUS = 0x2b, MINUS = 0x2d, Z = 0x5a, ZERO = 0x30, TWO = 0x32, FOUR = 0x34;
const DAY_MS = 86_400_000;

/** Epoch milliseconds, or NaN for a value that is not a real date-time. Expects ISO_WITH_OFFSET to match. */
export function parseTimestamp(value: string): number {
  const digit = (at: number) => value.charCodeAt(at) - ZERO;
  const twoDigits = (at: number) => digit(at) * 10 + digit(at + 1);

  const year = twoDigits(0) * 100 + twoDigits(2);
  const month = twoDigits(5);
  const day = twoDigits(8);
  const hour = twoDigits(11);
  const minute = twoDigits(14);
  let second = 0;
  let millis = 0;
  let fractionIsZero = true;
  let at = 16;
  if (value.charCodeAt(at) === COLON) {
    second = twoDigits(at + 1);
    at += 3;
    if (value.charCodeAt(at) === DOT) {
      // Milliseconds from the first three digits; further digits are dropped, as Date.parse does.
      for (let place = 100, d = digit(++at); d >= 0 && d <= 9; place /= 10, d = digit(++at)) {
        if (place >= 1) millis += d * place;
        if (d !== 0) fractionIsZero = false;
      }
    }
  }
  let offsetMinutes = 0;
  if (value.charCodeAt(at) !== Z) {
    const sign = value.charCodeAt(at) === MINUS ? -1 : value.charCodeAt(at) === PLUS ? 1 : NaN;
    const offsetHours = twoDigits(at + 1);
    const offsetMins = twoDigits(value.charCodeAt(at + 3) === COLON ? at + 4 : at + 3);
    if (offsetHours > 23 || offsetMins > 59) return NaN;
    offsetMinutes = sign * (offsetHours * 60 + offsetMins);
  }

  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  // 24:00:00 is the end of the day (the next midnight), as in Date.parse.
  const endOfDay = hour === 24 && minute === 0 && second === 0 && fractionIsZero;
  if ((hour > 23 && !endOfDay) || minute > 59 || second > 59) return NaN;
  return daysFromEpoch(year, month, day) * DAY_MS + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
}

/**
 * The form stored and returned (UTC, milliseconds): what Date#toISOString
 * writes. For a value parseTimestamp accepted, only 24:00:00.000 has that
 * shape and is not it (it is the next day's 00:00:00.000).
 */
export function isCanonicalTimestamp(value: string): boolean {
  return value.length === 24 && value.charCodeAt(23) === Z && value.charCodeAt(19) === DOT && !(value.charCodeAt(11) === TWO && value.charCodeAt(12) === FOUR);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (civil-from-days, inverted). */
function daysFromEpoch(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
