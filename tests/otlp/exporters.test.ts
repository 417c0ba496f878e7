/**
 * The real OpenTelemetry JS exporters (OTLP/HTTP JSON and protobuf) against a
 * real server process: what they export is found through /query, and a
 * re-export of the same data is counted as duplicates.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { OTLPLogExporter as LogsHttp } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as LogsProto } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter as MetricsHttp } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as MetricsProto } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter as TracesHttp } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as TracesProto } from "@opentelemetry/exporter-trace-otlp-proto";
import postgres from "postgres";
import { random, serviceUrl } from "../support/harness";
import { startServer, type ServerProcess } from "../support/server-process";
import { loggerWithExporter, meterWithCollector, tracerWithExporter } from "./fixtures";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

interface Exporter<T> {
  export(items: T, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

function exportOnce<T>(exporter: Exporter<T>, items: T): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items, resolve));
}

describe.skipIf(!databaseUrl)("OTLP/HTTP with the OpenTelemetry JS exporters", () => {
  const schema = `tv_otlp_${random()}`;
  const key = `otlp-key-${random()}`;
  const tenant = `otlp-${random()}`;
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({ DATABASE_URL: databaseUrl!, DB_SCHEMA: schema, API_KEYS: `${key}:${tenant}` });
  });
  afterAll(async () => {
    await server?.stop("SIGTERM");
    const admin = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
    await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    await admin.end();
  });

  const options = () => ({ headers: { "X-API-Key": key } });
  const endpoint = (signal: string) => `${server.url}/v1/${signal}`;

  async function query(body: Record<string, unknown>) {
    const res = await fetch(`${server.url}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: JSON.stringify({ startTime: new Date(Date.now() - 3_600_000).toISOString(), endTime: new Date(Date.now() + 60_000).toISOString(), limit: 1000, ...body }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as any;
  }

  async function duplicatesCounted(): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`tv_events_duplicates_total{tenant="${tenant}"}`));
    return line ? Number(line.split(" ").at(-1)) : 0;
  }

  for (const [encoding, Exporter] of [["json", TracesHttp], ["protobuf", TracesProto]] as const) {
    test(`spans over ${encoding}: stored as trace events, re-export counted as duplicates`, async () => {
      const service = `traces-${encoding}-${random()}`;
      const { tracer, exporter: memory } = tracerWithExporter({ "service.name": service });
      const started = new Date(Date.now() - 5_000);
      for (let i = 0; i < 5; i++) {
        const span = tracer.startSpan(`op-${i}`, { startTime: new Date(started.getTime() + i * 100), attributes: { i } });
        span.end(new Date(started.getTime() + i * 100 + 42));
      }
      const spans = memory.getFinishedSpans();
      const otlp = new Exporter({ url: endpoint("traces"), ...options() });

      expect((await exportOnce(otlp, spans)).code).toBe(ExportResultCode.SUCCESS);
      const body = await query({ serviceName: service });
      expect(body.pagination.total).toBe(5);
      expect(body.data.every((e: any) => e.eventType === "trace" && e.serviceName === service)).toBe(true);
      const byName = new Map(body.data.map((e: any) => [e.payload.name, e]));
      for (const span of spans) {
        const event = byName.get(span.name) as any;
        expect(event.eventId).toBe(`${span.spanContext().traceId}-${span.spanContext().spanId}`);
        expect(event.timestamp).toBe(new Date(span.startTime[0] * 1000 + Math.floor(span.startTime[1] / 1e6)).toISOString());
      }

      const before = await duplicatesCounted();
      expect((await exportOnce(otlp, spans)).code).toBe(ExportResultCode.SUCCESS);
      expect((await query({ serviceName: service })).pagination.total).toBe(5);
      expect((await duplicatesCounted()) - before).toBe(5);
      await otlp.shutdown();
    });
  }

  for (const [encoding, Exporter] of [["json", LogsHttp], ["protobuf", LogsProto]] as const) {
    test(`log records over ${encoding}: stored as log events, re-export counted as duplicates`, async () => {
      const service = `logs-${encoding}-${random()}`;
      const { logger, exporter: memory } = loggerWithExporter({ "service.name": service });
      const at = Date.now() - 3_000;
      for (let i = 0; i < 4; i++) {
        logger.emit({ body: `hello ${i}`, severityNumber: SeverityNumber.INFO, severityText: "INFO", timestamp: at + i, attributes: { i } });
      }
      const records = memory.getFinishedLogRecords();
      const otlp = new Exporter({ url: endpoint("logs"), ...options() });

      expect((await exportOnce(otlp, records)).code).toBe(ExportResultCode.SUCCESS);
      const body = await query({ serviceName: service, eventType: "log" });
      expect(body.pagination.total).toBe(4);
      const timestamps = body.data.map((e: any) => e.timestamp).sort();
      expect(timestamps).toEqual([0, 1, 2, 3].map((i) => new Date(at + i).toISOString()));

      const before = await duplicatesCounted();
      expect((await exportOnce(otlp, records)).code).toBe(ExportResultCode.SUCCESS);
      expect((await query({ serviceName: service })).pagination.total).toBe(4);
      expect((await duplicatesCounted()) - before).toBe(4);
      await otlp.shutdown();
    });
  }

  for (const [encoding, Exporter] of [["json", MetricsHttp], ["protobuf", MetricsProto]] as const) {
    test(`metric data points over ${encoding}: stored as metric events, re-export counted as duplicates`, async () => {
      const service = `metrics-${encoding}-${random()}`;
      const { meter, collect } = meterWithCollector();
      meter.createCounter("requests").add(3, { route: "/a" });
      meter.createCounter("requests").add(4, { route: "/b" });
      meter.createHistogram("latency").record(12.5);
      const snapshot = await collect();
      // The fixture's provider uses a fixed service name; give this test its own.
      (snapshot.resource as any).attributes["service.name"] = service;
      const expectedPoints = snapshot.scopeMetrics.flatMap((s) => s.metrics).reduce((n, m) => n + m.dataPoints.length, 0);
      const otlp = new Exporter({ url: endpoint("metrics"), ...options() });

      expect((await exportOnce(otlp, snapshot)).code).toBe(ExportResultCode.SUCCESS);
      const body = await query({ serviceName: service, eventType: "metric" });
      expect(body.pagination.total).toBe(expectedPoints);
      expect(body.data.map((e: any) => e.payload.name).sort()).toEqual(["latency", "requests", "requests"]);

      const before = await duplicatesCounted();
      expect((await exportOnce(otlp, snapshot)).code).toBe(ExportResultCode.SUCCESS);
      expect((await query({ serviceName: service })).pagination.total).toBe(expectedPoints);
      expect((await duplicatesCounted()) - before).toBe(expectedPoints);
      await otlp.shutdown();
    });
  }

  test("malformed bodies get 400 with a google.rpc.Status; unknown keys 401; other media types 415", async () => {
    const bad = await fetch(endpoint("traces"), {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: '{"resourceSpans": 5}',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ code: 3, message: expect.any(String), details: [] });

    const noKey = await fetch(endpoint("logs"), { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(noKey.status).toBe(401);

    const xml = await fetch(endpoint("metrics"), { method: "POST", headers: { "content-type": "text/xml", "x-api-key": key }, body: "<x/>" });
    expect(xml.status).toBe(415);

    const empty = await fetch(endpoint("traces"), { method: "POST", headers: { "content-type": "application/json", "x-api-key": key }, body: "{}" });
    expect(empty.status).toBe(200);
    expect(await empty.json()).toEqual({});
  });
});
