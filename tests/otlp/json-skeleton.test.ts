/**
 * An OTLP/JSON body cut into a skeleton and its records' texts
 * (src/otlp/json-skeleton.ts) means what JSON.parse says it means: put back
 * together it is the parsed body, and text JSON.parse refuses is refused by
 * the skeleton or by a record's own parse, never taken.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { decodeOtlpRequest } from "../../src/otlp/decode.ts";
import { OtlpDecodeError } from "../../src/otlp/errors.ts";
import { parseSkeleton } from "../../src/otlp/json-skeleton.ts";

const FIELDS = { resources: "resourceSpans", scopes: "scopeSpans", records: "spans" };
/** Keys and strings with quotes, backslashes, brackets and escapes in them. */
const tricky = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('"', "\\", "{", "]", '\\"}', "spans", "scopeSpans"));
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, tricky, fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie("v"), { maxLength: 3 }), fc.dictionary(tricky, tie("v"), { maxKeys: 3 })),
})).v;
const scope = fc.record({ scope: value, spans: fc.array(value, { maxLength: 4 }), extra: value }, { requiredKeys: ["spans"] });
const resource = fc.record({ resource: value, scopeSpans: fc.array(scope, { maxLength: 3 }) }, { requiredKeys: ["scopeSpans"] });
const body = fc.record({ resourceSpans: fc.array(resource, { maxLength: 3 }), other: value }, { requiredKeys: ["resourceSpans"] });

/** The skeleton with its records parsed back in place. */
function reassembled(text: string): unknown {
  const skeleton = parseSkeleton(text, FIELDS);
  if (!skeleton) return JSON.parse(text);
  const request = skeleton.request as any;
  for (const group of Array.isArray(request?.resourceSpans) ? request.resourceSpans : []) {
    for (const scopeGroup of Array.isArray(group?.scopeSpans) ? group.scopeSpans : []) {
      if (Array.isArray(scopeGroup?.spans)) scopeGroup.spans = scopeGroup.spans.map((i: number) => JSON.parse(skeleton.records[i]!));
    }
  }
  return request;
}

test("put back together, a skeleton is the parsed body", () => {
  fc.assert(
    fc.property(body, fc.constantFrom(undefined, 1, "\t", " \n "), (request, space) => {
      const text = JSON.stringify(request, null, space);
      const skeleton = parseSkeleton(text, FIELDS);
      expect(skeleton).toBeDefined();
      // Every record left the skeleton.
      expect(skeleton!.records.length).toBe(request.resourceSpans.reduce((n, r) => n + r.scopeSpans.reduce((m, s) => m + s.spans.length, 0), 0));
      expect(reassembled(text)).toEqual(JSON.parse(text));
    }),
    { numRuns: 500, seed: 3 },
  );
});

test("text JSON.parse refuses is refused; text it takes means the same", () => {
  const edited = fc.tuple(body, fc.nat(), fc.nat({ max: 3 }), fc.constantFrom("", ",", "]", "}", '"', "{", "[", "\\", "\u0001", " x")).map(([request, at, cut, insert]) => {
    const text = JSON.stringify(request);
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + cut);
  });
  // One comma taken out: records (or members) with nothing between them.
  const commaLess = fc.tuple(body, fc.nat()).map(([request, n]) => {
    const text = JSON.stringify(request, null, n % 2 ? " " : undefined);
    const commas = [...text.matchAll(/,/g)].map((m) => m.index!);
    const at = commas.length ? commas[n % commas.length]! : -1;
    return at < 0 ? text : text.slice(0, at) + text.slice(at + 1);
  });
  const tampered = fc.oneof(edited, commaLess);
  let refused = 0;
  fc.assert(
    fc.property(tampered, (text) => {
      let expected: unknown;
      try {
        expected = JSON.parse(text);
      } catch {
        refused++;
        expect(() => reassembled(text)).toThrow();
        return;
      }
      expect(reassembled(text)).toEqual(expected);
    }),
    { numRuns: 3000, seed: 5 },
  );
  expect(refused).toBeGreaterThan(1000);
});

test("member names written with escapes are the names they spell", () => {
  const text = '{"resource\\u0053pans":[{"scope\\u0053pans":[{"sp\\u0061ns":[{"name":"a"},{"name":"b"}]}]}]}';
  const skeleton = parseSkeleton(text, FIELDS);
  expect(skeleton?.records).toEqual(['{"name":"a"}', '{"name":"b"}']);
});

test("records with nothing between them, and records a repeated name overrides, are not taken", () => {
  const adjacent = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"}{"name":"b"},{"name":"c"}]}]}]}';
  expect(() => JSON.parse(adjacent)).toThrow();
  expect(() => reassembled(adjacent)).toThrow();
  // JSON.parse keeps the last "spans"; the first array's text would never be parsed, so the body is parsed whole.
  const repeated = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name": tru}],"spans":[{"name":"b"}]}]}]}';
  expect(parseSkeleton(repeated, FIELDS)).toBeUndefined();
  const overridden = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"}]}]}],"resourceSpans":[]}';
  expect(parseSkeleton(overridden, FIELDS)).toBeUndefined();
});

test("a record refused with its resource is still parsed: bad JSON there is a 400, as anywhere", () => {
  const attributes = Array.from({ length: 25_001 }, (_, i) => ({ key: `k${i}`, value: { stringValue: "v" } }));
  const head = JSON.stringify({ resourceSpans: [{ resource: { attributes }, scopeSpans: [{ spans: [] }] }] });
  const body = (spans: string) => new TextEncoder().encode(head.replace('"spans":[]', `"spans":[${spans}]`));
  expect(decodeOtlpRequest("traces", body('{"name":"a"},{"name":"b"}'), "json")).toMatchObject({ events: [], rejected: 2 });
  expect(() => decodeOtlpRequest("traces", body('{"name": tru},{"name":"b"}'), "json")).toThrow(OtlpDecodeError);
});
