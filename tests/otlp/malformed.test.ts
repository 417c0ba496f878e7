import { expect, test } from "bun:test";
import { decodeOtlpRequest, type OtlpSignal } from "../../src/otlp/decode.ts";
import { OtlpDecodeError } from "../../src/otlp/errors.ts";
import { decodeEvents, jsonBody } from "./fixtures.ts";

const text = (s: string) => new TextEncoder().encode(s);

function expectDecodeError(signal: OtlpSignal, body: Uint8Array, encoding: "protobuf" | "json", message?: RegExp) {
  let error: unknown;
  try {
    decodeEvents(signal, body, encoding);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(OtlpDecodeError);
  if (message) expect((error as Error).message).toMatch(message);
}

test("truncated or garbage protobuf is an OtlpDecodeError", () => {
  expectDecodeError("traces", new Uint8Array([0x0a, 0xff, 0xff, 0xff]), "protobuf", /invalid protobuf body/);
  expectDecodeError("logs", new Uint8Array([0x0a, 0x05, 0x0a]), "protobuf");
  expectDecodeError("metrics", text("{\"resourceMetrics\":[]}"), "protobuf");
});

test("an empty protobuf body is a valid, empty request", () => {
  expect(decodeEvents("traces", new Uint8Array(0), "protobuf")).toEqual([]);
});

test("JSON that is not an OTLP request object is an OtlpDecodeError", () => {
  expectDecodeError("traces", text(""), "json", /invalid JSON body/);
  expectDecodeError("traces", text("{\"resourceSpans\":"), "json", /invalid JSON body/);
  expectDecodeError("traces", text("[]"), "json", /expected an object/);
  expectDecodeError("traces", new Uint8Array([0x7b, 0xff, 0x7d]), "json", /invalid JSON body/);
  expectDecodeError("traces", jsonBody({ resourceSpans: {} }), "json", /resourceSpans must be an array/);
  expectDecodeError("logs", jsonBody({ resourceLogs: [{ scopeLogs: [7] }] }), "json", /must be an object/);
});

test("wrongly typed OTLP/JSON fields are an OtlpDecodeError naming the field", () => {
  const spans = (span: object) => jsonBody({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
  const ok = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", startTimeUnixNano: "1" };
  expectDecodeError("traces", spans({ ...ok, traceId: "not hex!" }), "json", /span.traceId/);
  expectDecodeError("traces", spans({ ...ok, startTimeUnixNano: "12x" }), "json", /startTimeUnixNano/);
  expectDecodeError("traces", spans({ ...ok, startTimeUnixNano: -1 }), "json", /startTimeUnixNano/);
  expectDecodeError("traces", spans({ ...ok, kind: "SPAN_KIND_BOGUS" }), "json", /span.kind/);
  expectDecodeError("traces", spans({ ...ok, name: 5 }), "json", /span.name/);
  expectDecodeError("traces", spans({ ...ok, attributes: [{ key: "a", value: { intValue: "1.5" } }] }), "json", /intValue/);
  expectDecodeError("traces", spans({ ...ok, attributes: [{ key: "a", value: { boolValue: "yes" } }] }), "json", /boolValue/);
});

test("times beyond fixed64 are an OtlpDecodeError, not a stored time", () => {
  const spans = (span: object) => jsonBody({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
  const ok = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", startTimeUnixNano: "1" };
  expectDecodeError("traces", spans({ ...ok, endTimeUnixNano: "9".repeat(400) }), "json", /endTimeUnixNano must fit in 64 bits/);
  expectDecodeError("traces", spans({ ...ok, endTimeUnixNano: "18446744073709551616" }), "json", /endTimeUnixNano must fit in 64 bits/);
  expectDecodeError("traces", spans({ ...ok, startTimeUnixNano: 1e30 }), "json", /startTimeUnixNano must fit in 64 bits/);
  const max = decodeEvents("traces", spans({ ...ok, endTimeUnixNano: "18446744073709551615" }), "json");
  expect(max).toHaveLength(1);
  // As a JSON number the largest fixed64 parses as 2^64, and still fits.
  expect(decodeEvents("traces", text(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${ok.traceId}","spanId":"${ok.spanId}","startTimeUnixNano":"1","endTimeUnixNano":18446744073709551615}]}]}]}`), "json")).toHaveLength(1);
});

test("a log record whose trace or span id has the wrong length is rejected alone (partial success)", () => {
  const good = { timeUnixNano: "1700000000000000000", body: { stringValue: "ok" }, traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" };
  const logs = (...records: object[]) => jsonBody({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] });
  const result = decodeOtlpRequest("logs", logs(
    good,
    { ...good, body: { stringValue: "long trace" }, traceId: "ab".repeat(2000) },
    { ...good, body: { stringValue: "short span" }, spanId: "b7ad" },
    { ...good, body: { stringValue: "no ids" }, traceId: undefined, spanId: undefined },
  ), "json");
  expect(result.events.map((e) => JSON.parse(e.payloadJson).body)).toEqual(["ok", "no ids"]);
  expect(result.events[0]!.traceId).toBe(good.traceId);
  expect(result).toMatchObject({ rejected: 2, rejectedMessage: expect.stringContaining("invalid trace or span id") });
});

test("a base64 id in OTLP/JSON (a common sender bug) is accepted as the same id", () => {
  const hex = "0af7651916cd43dd8448eb211c80319c";
  const body = jsonBody({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              { traceId: Buffer.from(hex, "hex").toString("base64"), spanId: "b7ad6b7169203331", startTimeUnixNano: "1" },
            ],
          },
        ],
      },
    ],
  });
  expect(decodeEvents("traces", body, "json")[0]!.eventId).toBe(`${hex}-b7ad6b7169203331`);
});
