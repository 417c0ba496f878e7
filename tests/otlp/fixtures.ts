/**
 * Real telemetry from the OpenTelemetry JS SDKs, captured in memory, plus the
 * official OTLP serializers, so tests decode exactly what exporters send.
 */
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from "@opentelemetry/sdk-logs";
import {
  AggregationTemporality,
  AggregationType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import type { NewEvent } from "../../src/events/event-types.ts";
import { decodeOtlpRequest, type OtlpEncoding, type OtlpSignal } from "../../src/otlp/decode.ts";

export const RESOURCE_ATTRIBUTES = {
  "service.name": "checkout",
  "service.version": "1.4.2",
  "deployment.environment": "test",
  "host.name": "web-1",
};

/** `count` finished spans shaped like HTTP server spans with an event. */
export function makeSpans(count: number): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(RESOURCE_ATTRIBUTES),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("bench-scope", "0.1.0");
  for (let i = 0; i < count; i++) {
    const span = tracer.startSpan(`GET /api/items/${i % 50}`, {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": "GET",
        "url.path": `/api/items/${i % 50}`,
        "http.response.status_code": 200,
        "server.address": "api.example.com",
        "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64) bench",
        "client.address": "10.0.0.1",
        "app.items": i,
        "app.cache_hit": i % 2 === 0,
      },
    });
    span.addEvent("cache.lookup", { "cache.key": `item:${i}` });
    span.setStatus({ code: SpanStatusCode.OK });
    span.end();
  }
  return exporter.getFinishedSpans();
}

export function tracerWithExporter(resourceAttributes: Record<string, string> = RESOURCE_ATTRIBUTES) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resourceAttributes),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { tracer: provider.getTracer("test-scope", "9.9.9"), exporter };
}

export function loggerWithExporter(resourceAttributes: Record<string, string> = RESOURCE_ATTRIBUTES) {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resourceAttributes),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  return { logger: provider.getLogger("log-scope", "2.0.0"), exporter, provider };
}

/** A MeterProvider whose `collect()` yields one ResourceMetrics snapshot. */
export function meterWithCollector() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes(RESOURCE_ATTRIBUTES),
    readers: [reader],
    views: [{ instrumentName: "payload.size", aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  return {
    meter: provider.getMeter("metrics-scope", "3.0.0"),
    async collect(): Promise<ResourceMetrics> {
      await reader.forceFlush();
      const all = exporter.getMetrics();
      await provider.shutdown();
      return all[all.length - 1]!;
    },
  };
}

export const serialize = {
  traces: (spans: ReadableSpan[]) => ({
    protobuf: ProtobufTraceSerializer.serializeRequest(spans)!,
    json: JsonTraceSerializer.serializeRequest(spans)!,
  }),
  logs: (records: ReadableLogRecord[]) => ({
    protobuf: ProtobufLogsSerializer.serializeRequest(records)!,
    json: JsonLogsSerializer.serializeRequest(records)!,
  }),
  metrics: (metrics: ResourceMetrics) => ({
    protobuf: ProtobufMetricsSerializer.serializeRequest(metrics)!,
    json: JsonMetricsSerializer.serializeRequest(metrics)!,
  }),
};

export function payloadOf(event: NewEvent): any {
  return JSON.parse(event.payloadJson);
}

export function jsonBody(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** The hrtime [seconds, nanos] the SDK records, as exact decimal nanoseconds. */
export function hrTimeToNanos([seconds, nanos]: [number, number]): string {
  return (BigInt(seconds) * 1_000_000_000n + BigInt(nanos)).toString();
}

/** The events an export request becomes, without limits. */
export function decodeEvents(signal: OtlpSignal, body: Uint8Array, encoding: OtlpEncoding): NewEvent[] {
  return decodeOtlpRequest(signal, body, encoding).events;
}
