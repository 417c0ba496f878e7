import { SeverityNumber } from "@opentelemetry/api";
import { expect, test } from "bun:test";
import { decodeEvents, hrTimeToNanos, jsonBody, loggerWithExporter, payloadOf, serialize } from "./fixtures.ts";

async function sampleLogs() {
  const { logger, exporter, provider } = loggerWithExporter();
  logger.emit({
    body: "payment accepted",
    severityNumber: SeverityNumber.INFO,
    severityText: "INFO",
    attributes: { "order.id": "o-17", amount: 12.5 },
    timestamp: new Date("2026-01-02T03:04:05.678Z"),
  });
  logger.emit({ body: { reason: "timeout", codes: [503, 504] }, severityNumber: SeverityNumber.WARN, eventName: "retry" });
  await provider.forceFlush();
  return exporter.getFinishedLogRecords();
}

for (const encoding of ["protobuf", "json"] as const) {
  test(`log records decode from OTLP/${encoding} produced by the OpenTelemetry SDK`, async () => {
    const records = await sampleLogs();
    const events = decodeEvents("logs", serialize.logs(records)[encoding], encoding);
    expect(events).toHaveLength(2);
    for (const e of events) {
      expect(e.eventType).toBe("log");
      expect(e.serviceName).toBe("checkout");
      expect(e.eventId).toMatch(/^[0-9a-f]{64}$/);
    }

    const [accepted, retry] = events;
    expect(accepted!.timestamp).toBe("2026-01-02T03:04:05.678Z");
    expect(payloadOf(accepted!)).toMatchObject({
      timeUnixNano: "1767323045678000000",
      observedTimeUnixNano: hrTimeToNanos(records[0]!.hrTimeObserved),
      severityNumber: 9,
      severityText: "INFO",
      body: "payment accepted",
      attributes: { "order.id": "o-17", amount: 12.5 },
      resource: { attributes: { "service.name": "checkout" } },
      scope: { name: "log-scope", version: "2.0.0" },
    });
    expect(payloadOf(retry!)).toMatchObject({
      severityNumber: 13,
      body: { reason: "timeout", codes: [503, 504] },
      eventName: "retry",
    });
  });
}

test("log event ids are content hashes: stable, encoding-independent, distinct per record", async () => {
  const records = await sampleLogs();
  const bodies = serialize.logs(records);
  const a = decodeEvents("logs", bodies.protobuf, "protobuf");
  const b = decodeEvents("logs", bodies.protobuf, "protobuf");
  const c = decodeEvents("logs", bodies.json, "json");
  expect(b.map((e) => e.eventId)).toEqual(a.map((e) => e.eventId));
  expect(c).toEqual(a);
  expect(new Set(a.map((e) => e.eventId)).size).toBe(2);
});

test("the observed time stands in for a missing time; the id still covers the record", () => {
  const body = (time: string, observed: string, text = "x") =>
    jsonBody({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: time,
                  observedTimeUnixNano: observed,
                  severityNumber: "SEVERITY_NUMBER_ERROR",
                  body: { stringValue: text },
                },
              ],
            },
          ],
        },
      ],
    });
  const [observedOnly] = decodeEvents("logs", body("0", "1767225600500000000"), "json");
  expect(observedOnly!.timestamp).toBe("2026-01-01T00:00:00.500Z");
  expect(payloadOf(observedOnly!).severityNumber).toBe(17);

  const [neither] = decodeEvents("logs", body("0", "0"), "json");
  expect(Math.abs(Date.parse(neither!.timestamp) - Date.now())).toBeLessThan(60_000);

  const [other] = decodeEvents("logs", body("0", "1767225600500000000", "y"), "json");
  expect(other!.eventId).not.toBe(observedOnly!.eventId);
  const [otherTime] = decodeEvents("logs", body("1767225600500000001", "1767225600500000000"), "json");
  expect(otherTime!.eventId).not.toBe(observedOnly!.eventId);
});
