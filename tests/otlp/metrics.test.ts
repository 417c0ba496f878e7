import { expect, test } from "bun:test";
import { decodeOtlpRequest } from "../../src/otlp/decode.ts";
import { ExportMetricsServiceRequest } from "../../src/otlp/schema.ts";
import { decodeEvents, jsonBody, meterWithCollector, payloadOf, serialize } from "./fixtures.ts";

async function sampleMetrics() {
  const { meter, collect } = meterWithCollector();
  meter.createCounter("http.requests", { unit: "{request}", description: "served" }).add(5, { route: "/a" });
  meter.createCounter("http.requests", { unit: "{request}", description: "served" }).add(2, { route: "/b" });
  meter.createUpDownCounter("queue.depth").add(-3);
  meter.createGauge("cpu.temp", { unit: "Cel" }).record(61.5);
  const latency = meter.createHistogram("http.latency", { unit: "ms" });
  for (const v of [3, 12.5, 80, 4000]) latency.record(v);
  meter.createHistogram("payload.size", { unit: "By" }).record(1024); // exponential via view
  return collect();
}

function byName(events: ReturnType<typeof decodeEvents>) {
  const map = new Map<string, any[]>();
  for (const e of events) {
    const p = payloadOf(e);
    map.set(p.name, [...(map.get(p.name) ?? []), { event: e, p }]);
  }
  return map;
}

for (const encoding of ["protobuf", "json"] as const) {
  test(`metric data points decode from OTLP/${encoding} produced by the OpenTelemetry SDK`, async () => {
    const metrics = await sampleMetrics();
    const events = decodeEvents("metrics", serialize.metrics(metrics)[encoding], encoding);
    expect(events).toHaveLength(6); // 2 counter points + 1 each for the others
    for (const e of events) {
      expect(e.eventType).toBe("metric");
      expect(e.serviceName).toBe("checkout");
      expect(e.eventId).toMatch(/^[0-9a-f]{64}$/);
      expect(Math.abs(Date.parse(e.timestamp) - Date.now())).toBeLessThan(60_000);
    }
    const m = byName(events);

    const counter = m.get("http.requests")!.map((x) => x.p);
    expect(counter.map((p) => [p.attributes.route, p.value]).sort()).toEqual([
      ["/a", 5],
      ["/b", 2],
    ]);
    expect(counter[0]).toMatchObject({
      type: "sum",
      unit: "{request}",
      description: "served",
      aggregationTemporality: "cumulative",
      isMonotonic: true,
      resource: { attributes: { "service.name": "checkout" } },
      scope: { name: "metrics-scope", version: "3.0.0" },
    });
    expect(m.get("queue.depth")![0].p).toMatchObject({ type: "sum", isMonotonic: false, value: -3 });
    expect(m.get("cpu.temp")![0].p).toMatchObject({ type: "gauge", unit: "Cel", value: 61.5 });
    expect(m.get("cpu.temp")![0].p.aggregationTemporality).toBeUndefined();

    const hist = m.get("http.latency")![0].p;
    expect(hist).toMatchObject({ type: "histogram", count: 4, sum: 4095.5, min: 3, max: 4000 });
    expect(hist.explicitBounds).toEqual([0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]);
    expect(hist.bucketCounts.reduce((a: number, b: number) => a + b, 0)).toBe(4);
    expect(hist.bucketCounts[1]).toBe(1); // 3 ∈ (0, 5]

    const exp = m.get("payload.size")![0].p;
    expect(exp).toMatchObject({ type: "exponential_histogram", count: 1, sum: 1024, min: 1024, max: 1024, zeroCount: 0 });
    expect(exp.scale).toEqual(expect.any(Number));
    expect(exp.positive.bucketCounts).toEqual([1]);
    expect(exp.positive.offset).toEqual(expect.any(Number));
    expect(exp.negative).toEqual({ offset: 0, bucketCounts: [] });
  });
}

test("metric event ids are stable and identical across encodings", async () => {
  const bodies = serialize.metrics(await sampleMetrics());
  const a = decodeEvents("metrics", bodies.protobuf, "protobuf");
  expect(decodeEvents("metrics", bodies.protobuf, "protobuf").map((e) => e.eventId)).toEqual(a.map((e) => e.eventId));
  expect(decodeEvents("metrics", bodies.json, "json")).toEqual(a);
  expect(new Set(a.map((e) => e.eventId)).size).toBe(a.length);
});

/** Summary points (the JS SDK never produces them) plus edge values, in both encodings. */
const summaryRequest = {
  resourceMetrics: [
    {
      resource: { attributes: [{ key: "service.name", value: { stringValue: "legacy" } }] },
      scopeMetrics: [
        {
          metrics: [
            {
              name: "rpc.duration",
              unit: "s",
              summary: {
                dataPoints: [
                  {
                    timeUnixNano: "1767225600000000000",
                    count: "9007199254740993",
                    sum: 12.5,
                    quantileValues: [
                      { quantile: 0.5, value: 0.1 },
                      { quantile: 0.99, value: 2.5 },
                    ],
                  },
                ],
              },
            },
            {
              name: "staleness",
              gauge: {
                dataPoints: [
                  { timeUnixNano: "1767225600000000000", asDouble: "NaN" },
                  { timeUnixNano: "1767225600000000000", asInt: "-9223372036854775808" },
                  { timeUnixNano: "0", asDouble: 1 },
                ],
              },
            },
          ],
        },
      ],
    },
  ],
};

test("summary points, huge counts, NaN and int64 extremes decode in JSON and protobuf alike", () => {
  const json = decodeOtlpRequest("metrics", jsonBody(summaryRequest), "json");
  const protobuf = decodeOtlpRequest(
    "metrics",
    ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(summaryRequest)).finish(),
    "protobuf",
  );
  for (const result of [json, protobuf]) {
    expect(result.rejected).toBe(1); // the point with time 0
    expect(result.rejectedMessage).toContain("data point without time_unix_nano");
    const [summary, nan, minInt] = result.events.map(payloadOf);
    expect(result.events[0]!.serviceName).toBe("legacy");
    expect(result.events[0]!.timestamp).toBe("2026-01-01T00:00:00.000Z");
    expect(summary).toMatchObject({
      type: "summary",
      count: "9007199254740993",
      sum: 12.5,
      quantileValues: [
        { quantile: 0.5, value: 0.1 },
        { quantile: 0.99, value: 2.5 },
      ],
    });
    expect(nan).toMatchObject({ type: "gauge", value: "NaN" });
    expect(minInt).toMatchObject({ type: "gauge", value: "-9223372036854775808" });
  }
  expect(protobuf.events).toEqual(json.events);
});
