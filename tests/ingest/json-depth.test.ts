/**
 * The depth scan that guards JSON.parse, checked against the depth of what
 * JSON.parse actually builds, on random documents whose strings are full of
 * quotes, backslashes, brackets and non-ASCII characters.
 */
import { expect, test } from "bun:test";
import { findTooDeep } from "../../src/events/json-text";

/** Depth of a parsed value: scalars 0, each array or object level adds 1. */
function depthOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

function seeded(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

const TRICKY = ['"', "\\", "\\\\", '\\"', "[", "]", "{", "}", ",", "\n", "é", "😀", "a", " "];

function randomValue(random: () => number, depth: number): unknown {
  const roll = random();
  if (depth <= 0 || roll < 0.3) {
    if (roll < 0.15) return Array.from({ length: Math.floor(random() * 6) }, () => TRICKY[Math.floor(random() * TRICKY.length)]).join("");
    return roll < 0.25 ? Math.round(random() * 1000) : null;
  }
  const size = 1 + Math.floor(random() * 3);
  if (roll < 0.65) return Array.from({ length: size }, () => randomValue(random, depth - 1));
  return Object.fromEntries(Array.from({ length: size }, (_, i) => [`k${i}${TRICKY[i % TRICKY.length]}`, randomValue(random, depth - 1)]));
}

test("array bodies: the first element nested past the limit, as JSON.parse sees it", () => {
  const random = seeded(42);
  for (let round = 0; round < 500; round++) {
    const items = Array.from({ length: 1 + Math.floor(random() * 5) }, () => randomValue(random, Math.floor(random() * 9)));
    const text = JSON.stringify(items, null, round % 3 === 0 ? 1 : undefined);
    const maxDepth = 1 + Math.floor(random() * 8);
    const expected = items.findIndex((item) => 1 + depthOf(item) > maxDepth);
    expect(findTooDeep(text, maxDepth, "array")).toBe(expected < 0 ? undefined : expected);
  }
});

test("NDJSON: the index counts non-blank lines, and each line starts at depth 0", () => {
  const random = seeded(7);
  for (let round = 0; round < 500; round++) {
    const items = Array.from({ length: 1 + Math.floor(random() * 5) }, () => randomValue(random, Math.floor(random() * 9)));
    const text = items.map((item) => JSON.stringify(item)).join(round % 2 ? "\n\n" : "\r\n");
    const maxDepth = 1 + Math.floor(random() * 8);
    const expected = items.findIndex((item) => depthOf(item) > maxDepth);
    expect(findTooDeep(text, maxDepth, "lines")).toBe(expected < 0 ? undefined : expected);
  }
});

test("escaped quotes and backslash runs do not end a string early", () => {
  expect(findTooDeep(JSON.stringify({ a: '\\"[[[[' }), 1, "single")).toBeUndefined();
  expect(findTooDeep(JSON.stringify({ a: "\\\\", b: [[1]] }), 2, "single")).toBe(0);
  expect(findTooDeep('{"unterminated": "[[[[', 1, "single")).toBeUndefined();
  expect(findTooDeep("[".repeat(100_000), 34, "array")).toBe(0);
});
