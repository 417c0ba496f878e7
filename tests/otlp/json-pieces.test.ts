/**
 * The JSON text of a record measured and written in pieces (src/otlp/json-pieces.ts)
 * is exactly JSON.stringify's: oversized records are trimmed and hashed from
 * these, so a difference would change their ids between releases.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { jsonLength, writeOpenObject } from "../../src/otlp/json-pieces.ts";
import type { JsonObject, JsonValue } from "../../src/otlp/values.ts";

/** JSON values with any UTF-16 text: quotes, controls, astral characters and lone surrogates. */
const text = fc.string({ unit: "binary", maxLength: 12 });
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    text,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(text, tie("value"), { maxKeys: 5 }),
  ),
}));

function written(object: JsonObject): string {
  const pieces: string[] = [];
  writeOpenObject(object, (piece) => pieces.push(piece));
  return `${pieces.join("")}}`;
}

test("jsonLength is JSON.stringify's length, and the pieces are its text", () => {
  fc.assert(
    fc.property(value, fc.dictionary(text, value, { maxKeys: 6 }), (v, object) => {
      expect(jsonLength(v as JsonValue)).toBe(JSON.stringify(v).length);
      expect(written(object as JsonObject)).toBe(JSON.stringify(object));
    }),
    { numRuns: 2000, seed: 11 },
  );
});

test("writeOpenObject says whether it wrote a member, so the caller knows to add a comma", () => {
  expect(writeOpenObject({}, () => {})).toBe(false);
  expect(writeOpenObject({ a: 1 }, () => {})).toBe(true);
  // Integer-like keys come first, as in JSON.stringify.
  expect(written({ b: 1, 2: "x", a: [null, "\u0000"] })).toBe(JSON.stringify({ b: 1, 2: "x", a: [null, "\u0000"] }));
  // A hole in an array is null, as JSON.stringify writes it.
  const sparse = { a: [1, , 3] } as unknown as JsonObject;
  expect(written(sparse)).toBe(JSON.stringify(sparse));
  expect(jsonLength(sparse)).toBe(JSON.stringify(sparse).length);
});
