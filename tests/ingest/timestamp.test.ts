/**
 * parseTimestamp against Date.parse: the same instant for every timestamp
 * Date.parse reads, NaN where it refuses, and NaN for days the month does not
 * have (which Date.parse rolls over into the next month).
 */
import { expect, test } from "bun:test";
import { ISO_WITH_OFFSET, parseTimestamp } from "../../src/events/timestamp";

function seeded(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

/** Whether the written day exists in the written month (checked with Date, not with the code under test). */
function dayExists(text: string): boolean {
  const [year, month, day] = [text.slice(0, 4), text.slice(5, 7), text.slice(8, 10)].map(Number) as [number, number, number];
  const probe = new Date(0);
  probe.setUTCFullYear(year, month - 1, day);
  return probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
}

const expected = (text: string) => (dayExists(text) ? Date.parse(text) : NaN);

test("random timestamps, edge values included, read as Date.parse reads them", () => {
  const random = seeded(2026);
  const pick = <T>(values: T[]) => values[Math.floor(random() * values.length)]!;
  const pad = (n: number, width: number) => String(n).padStart(width, "0");
  const field = (max: number, edges: number[]) => pad(random() < 0.3 ? pick(edges) : Math.floor(random() * (max + 1)), 2);
  for (let round = 0; round < 20_000; round++) {
    const year = pad(pick([0, 1, 99, 100, 1900, 1969, 1970, 2000, 2024, 2026, 2100, 9999, Math.floor(random() * 10_000)]), 4);
    const date = `${year}-${field(12, [0, 1, 2, 12, 13, 99])}-${field(31, [0, 1, 28, 29, 30, 31, 32, 99])}`;
    const time = `${field(23, [0, 23, 24, 25, 99])}:${field(59, [0, 59, 60, 99])}`;
    const seconds = random() < 0.2 ? "" : `:${field(59, [0, 59, 60, 99])}`;
    const fraction = seconds && random() < 0.6 ? `.${Array.from({ length: 1 + Math.floor(random() * 9) }, () => Math.floor(random() * 10)).join("")}` : "";
    const offset = random() < 0.4 ? "Z" : `${pick(["+", "-"])}${field(23, [0, 14, 23, 24, 99])}${pick([":", ""])}${field(59, [0, 30, 59, 60, 99])}`;
    // End of day (24:00:00) is valid only with every fraction digit zero: try it often.
    const endOfDay = random() < 0.05 ? `T24:00:00.${pick(["0", "000", "0000", "0001", "000000001", "1"])}` : undefined;
    const text = endOfDay ? `${date}${endOfDay}${offset}` : `${date}T${time}${seconds}${fraction}${offset}`;
    expect(ISO_WITH_OFFSET.test(text)).toBe(true);
    const got = parseTimestamp(text);
    const want = expected(text);
    if (!Object.is(got, want)) throw new Error(`${text}: parseTimestamp ${got}, Date.parse ${Date.parse(text)}, day exists ${dayExists(text)}`);
  }
});

test("known instants", () => {
  expect(parseTimestamp("2026-11-27T08:00:00.000Z")).toBe(Date.UTC(2026, 10, 27, 8));
  expect(parseTimestamp("2024-02-29T23:59:59.9999+01:00")).toBe(Date.UTC(2024, 1, 29, 22, 59, 59, 999));
  expect(parseTimestamp("2026-01-01T24:00:00Z")).toBe(Date.UTC(2026, 0, 2));
  expect(parseTimestamp("2026-01-01T24:00:00.001Z")).toBeNaN();
  expect(parseTimestamp("2026-01-01T24:00:00.0001Z")).toBeNaN();
  expect(parseTimestamp("2026-01-01T24:00:00.000000000Z")).toBe(Date.UTC(2026, 0, 2));
  expect(parseTimestamp("2026-01-01T24:00:01Z")).toBeNaN();
  expect(parseTimestamp("2026-02-29T00:00:00Z")).toBeNaN();
  expect(parseTimestamp("2026-02-30T00:00:00Z")).toBeNaN();
  expect(parseTimestamp("1969-12-31T23:59:59.999Z")).toBe(-1);
});
