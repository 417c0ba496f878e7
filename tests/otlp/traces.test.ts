import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { expect, test } from "bun:test";
import { decodeOtlpRequest } from "../../src/otlp/decode.ts";
import { decodeEvents, hrTimeToNanos, jsonBody, payloadOf, serialize, tracerWithExporter } from "./fixtures.ts";

function sampleSpans() {
  const { tracer, exporter } = tracerWithExporter();
  const parent = tracer.startSpan("parent", { kind: SpanKind.SERVER, startTime: new Date("2026-01-02T03:04:05.678Z") });
  const child = tracer.startSpan(
    "child",
    {
      kind: SpanKind.CLIENT,
      attributes: { "http.method": "POST", retries: 3, ratio: 0.25, ok: true, tags: ["a", "b"] },
      links: [{ context: parent.spanContext(), attributes: { "link.kind": "follows" } }],
    },
    trace.setSpan(context.active(), parent),
  );
  child.addEvent("retry", { attempt: 2 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: "upstream 503" });
  child.end();
  parent.end(new Date("2026-01-02T03:04:06.000Z"));
  const spans = exporter.getFinishedSpans();
  return { spans, child: spans.find((s) => s.name === "child")!, parent: spans.find((s) => s.name === "parent")! };
}

for (const encoding of ["protobuf", "json"] as const) {
  test(`spans decode from OTLP/${encoding} produced by the OpenTelemetry SDK`, () => {
    const { spans, child, parent } = sampleSpans();
    const events = decodeEvents("traces", serialize.traces(spans)[encoding], encoding);
    expect(events).toHaveLength(2);

    const childEvent = events.find((e) => payloadOf(e).name === "child")!;
    const { traceId, spanId } = child.spanContext();
    expect(childEvent.eventType).toBe("trace");
    expect(childEvent.serviceName).toBe("checkout");
    expect(childEvent.eventId).toBe(`${traceId}-${spanId}`);
    const startNanos = hrTimeToNanos(child.startTime);
    expect(childEvent.timestamp).toBe(new Date(Number(BigInt(startNanos) / 1_000_000n)).toISOString());

    const p = payloadOf(childEvent);
    expect(p).toMatchObject({
      traceId,
      spanId,
      parentSpanId: parent.spanContext().spanId,
      name: "child",
      kind: "client",
      startTimeUnixNano: startNanos,
      endTimeUnixNano: hrTimeToNanos(child.endTime),
      status: { code: "error", message: "upstream 503" },
      attributes: { "http.method": "POST", retries: 3, ratio: 0.25, ok: true, tags: ["a", "b"] },
      resource: { attributes: { "service.name": "checkout", "host.name": "web-1" } },
      scope: { name: "test-scope", version: "9.9.9", attributes: {} },
    });
    expect(p.durationNs).toBe(Number(BigInt(p.endTimeUnixNano) - BigInt(p.startTimeUnixNano)));
    expect(p.durationMs).toBeCloseTo(p.durationNs / 1e6, 9);
    expect(p.events).toEqual([
      { name: "retry", timeUnixNano: hrTimeToNanos(child.events[0]!.time), attributes: { attempt: 2 } },
    ]);
    expect(p.links).toEqual([
      {
        traceId: parent.spanContext().traceId,
        spanId: parent.spanContext().spanId,
        attributes: { "link.kind": "follows" },
        flags: expect.any(Number),
      },
    ]);

    const parentEvent = events.find((e) => payloadOf(e).name === "parent")!;
    expect(parentEvent.timestamp).toBe("2026-01-02T03:04:05.678Z");
    expect(payloadOf(parentEvent)).toMatchObject({ kind: "server", durationNs: 322_000_000, status: { code: "unset" } });
    expect(payloadOf(parentEvent).parentSpanId).toBeUndefined();
  });
}

test("protobuf and JSON encodings of the same spans give identical events", () => {
  const { spans } = sampleSpans();
  const bodies = serialize.traces(spans);
  const fromProtobuf = decodeEvents("traces", bodies.protobuf, "protobuf");
  const fromJson = decodeEvents("traces", bodies.json, "json");
  expect(fromJson).toEqual(fromProtobuf);
});

test("decoding the same body twice gives the same event ids", () => {
  const { spans } = sampleSpans();
  const body = serialize.traces(spans).protobuf;
  const ids = (events: { eventId: string }[]) => events.map((e) => e.eventId);
  expect(ids(decodeEvents("traces", body, "protobuf"))).toEqual(ids(decodeEvents("traces", body, "protobuf")));
});

test("a 64-bit attribute beyond 2^53 survives protobuf exactly, as a string", () => {
  const { tracer, exporter } = tracerWithExporter();
  // The SDK holds numbers as doubles; 2^60 is exact as a double and serialized as int64.
  tracer.startSpan("big", { attributes: { big: 2 ** 60, small: -7 } }).end();
  const events = decodeEvents("traces", serialize.traces(exporter.getFinishedSpans()).protobuf, "protobuf");
  expect(payloadOf(events[0]!).attributes).toEqual({ big: "1152921504606846976", small: -7 });
});

test("nanosecond timestamps beyond 2^53 convert to milliseconds exactly", () => {
  const body = (start: string) =>
    jsonBody({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: "0af7651916cd43dd8448eb211c80319c",
                  spanId: "b7ad6b7169203331",
                  name: "x",
                  startTimeUnixNano: start,
                  endTimeUnixNano: "1767225600124000001",
                },
              ],
            },
          ],
        },
      ],
    });
  // 1767225600123999999 ns is 2026-01-01T00:00:00.123999999Z: as a double it
  // would round up to .124 — BigInt-exact conversion must floor to .123.
  const [event] = decodeEvents("traces", body("1767225600123999999"), "json");
  expect(event!.timestamp).toBe("2026-01-01T00:00:00.123Z");
  expect(payloadOf(event!)).toMatchObject({
    startTimeUnixNano: "1767225600123999999",
    endTimeUnixNano: "1767225600124000001",
    durationNs: 2,
  });
  expect(event!.serviceName).toBe("unknown_service");
});

test("OTLP/JSON enum names and numeric int64 fields are tolerated", () => {
  const body = jsonBody({
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "named" } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: "0AF7651916CD43DD8448EB211C80319C",
                spanId: "B7AD6B7169203331",
                name: "enum-names",
                kind: "SPAN_KIND_PRODUCER",
                startTimeUnixNano: 1767225600000000000,
                endTimeUnixNano: "1767225600001000000",
                status: { code: "STATUS_CODE_OK" },
                attributes: [{ key: "n", value: { intValue: "42" } }],
              },
            ],
          },
        ],
      },
    ],
  });
  const [event] = decodeEvents("traces", body, "json");
  expect(event!.eventId).toBe("0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331");
  expect(event!.timestamp).toBe("2026-01-01T00:00:00.000Z");
  expect(payloadOf(event!)).toMatchObject({ kind: "producer", status: { code: "ok" }, attributes: { n: 42 } });
});

test("spans with invalid ids or far-future times are rejected, the rest kept", () => {
  const span = (traceId: string, spanId: string, start = "1767225600000000000") => ({
    traceId,
    spanId,
    name: "s",
    startTimeUnixNano: start,
  });
  const future = String(BigInt(Date.now() + 3 * 86_400_000) * 1_000_000n);
  const body = jsonBody({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              span("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"),
              span("00000000000000000000000000000000", "b7ad6b7169203331"),
              span("0af7651916cd43dd8448eb211c80319c", "b7ad"),
              span("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203332", future),
              span("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203333", "0"),
            ],
          },
        ],
      },
    ],
  });
  const result = decodeOtlpRequest("traces", body, "json");
  expect(result.events.map((e) => e.eventId)).toEqual(["0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"]);
  expect(result.rejected).toBe(4);
  expect(result.rejectedMessage).toContain("invalid trace or span id (2)");
  expect(result.rejectedMessage).toContain("timestamp must be between 1970-01-01T00:00:00Z and 24 hours from now (1)");
  expect(result.rejectedMessage).toContain("span without start time (1)");
});
