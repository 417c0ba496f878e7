import { expect, test } from "bun:test";
import { MAX_PAYLOAD_BYTES } from "../../src/events/limits.ts";
import { ExportLogsServiceRequest } from "../../src/otlp/schema.ts";
import { decodeEvents, jsonBody, payloadOf } from "./fixtures.ts";

function logRequest(record: object, resourceAttributes: object[] = []) {
  return {
    resourceLogs: [
      {
        resource: { attributes: resourceAttributes },
        scopeLogs: [{ scope: { name: "s" }, logRecords: [{ timeUnixNano: "1767225600000000000", ...record }] }],
      },
    ],
  };
}

function decodeLog(record: object, resourceAttributes?: object[]) {
  const [event] = decodeEvents("logs", jsonBody(logRequest(record, resourceAttributes)), "json");
  return event!;
}

/** What the store checks, restated: no NUL, no lone surrogates, finite numbers, bounded depth. */
function assertStorable(payloadJson: string) {
  expect(payloadJson).not.toContain("\\u0000");
  expect(payloadJson.isWellFormed()).toBe(true);
  expect(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i.test(payloadJson)).toBe(false);
  expect(Buffer.byteLength(payloadJson)).toBeLessThanOrEqual(64 * 1024);
  const depth = (v: unknown): number =>
    v !== null && typeof v === "object" ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0;
  expect(depth(JSON.parse(payloadJson))).toBeLessThanOrEqual(32);
}

test("NUL and lone surrogates are replaced with U+FFFD in values and keys", () => {
  const event = decodeLog({
    body: { stringValue: "a\u0000b\ud800c" },
    attributes: [{ key: "k\u0000ey", value: { stringValue: "\udfffx" } }],
  });
  assertStorable(event.payloadJson);
  const p = payloadOf(event);
  expect(p.body).toBe("a\uFFFDb\uFFFDc");
  expect(p.attributes).toEqual({ "k\uFFFDey": "\uFFFDx" });
});

test("invalid UTF-8 in protobuf strings becomes U+FFFD instead of failing the request", () => {
  const body = ExportLogsServiceRequest.encode(
    ExportLogsServiceRequest.fromObject(logRequest({ body: { stringValue: "PLACEHOLDER" } })),
  ).finish();
  const at = Buffer.from(body).indexOf("PLACEHOLDER");
  body[at + 1] = 0xff; // not valid anywhere in UTF-8
  const event = decodeEvents("logs", body, "protobuf")[0]!;
  assertStorable(event.payloadJson);
  expect(payloadOf(event).body).toBe("P\uFFFDACEHOLDER");
});

test("service.name: missing → unknown_service, overlong → 128 chars, non-string → text", () => {
  expect(decodeLog({}).serviceName).toBe("unknown_service");
  const long = "s".repeat(127) + "😀" + "tail";
  const name = decodeLog({}, [{ key: "service.name", value: { stringValue: long } }]).serviceName;
  expect(name).toBe("s".repeat(127)); // the surrogate pair is not split
  expect(decodeLog({}, [{ key: "service.name", value: { intValue: "7" } }]).serviceName).toBe("7");
});

test("non-finite doubles become strings and bytes become base64", () => {
  const p = payloadOf(
    decodeLog({
      attributes: [
        { key: "inf", value: { doubleValue: "Infinity" } },
        { key: "ninf", value: { doubleValue: "-Infinity" } },
        { key: "raw", value: { bytesValue: "AQID" } },
        { key: "empty", value: {} },
        { key: "__proto__", value: { stringValue: "data, not a prototype" } },
      ],
    }),
  );
  expect(p.attributes).toEqual({
    inf: "Infinity",
    ninf: "-Infinity",
    raw: "AQID",
    empty: null,
    ["__proto__"]: "data, not a prototype",
  });
});

test("oversized payloads are trimmed and annotated instead of rejected", () => {
  const huge = "x".repeat(100_000);
  const event = decodeLog({
    body: { stringValue: "short body" },
    attributes: [
      { key: "stack", value: { stringValue: huge } },
      { key: "kept", value: { intValue: 1 } },
    ],
  });
  assertStorable(event.payloadJson);
  const p = payloadOf(event);
  expect(p.attributes.stack).toHaveLength(1025); // 1024 + "…"
  expect(p.attributes.kept).toBe(1);
  expect(p.truncated).toMatchObject({ truncatedStrings: 1, droppedFields: [] });

  const many = Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: { stringValue: "y".repeat(1000) } }));
  const dropped = decodeLog({ body: { stringValue: "still here" }, attributes: many });
  assertStorable(dropped.payloadJson);
  const q = payloadOf(dropped);
  expect(q.attributes).toBeUndefined();
  expect(q.truncated.droppedFields).toEqual(["attributes"]);
  expect(q.body).toBe("still here");
  expect(Buffer.byteLength(dropped.payloadJson)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
});

test("deeply nested values are cut off before the store's depth limit", () => {
  let value: object = { stringValue: "leaf" };
  for (let i = 0; i < 100; i++) value = { kvlistValue: { values: [{ key: "k", value }] } };
  const event = decodeLog({ body: value });
  assertStorable(event.payloadJson);
  expect(event.payloadJson).toContain("[value nested too deeply]");
});
