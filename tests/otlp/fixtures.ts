/**
 * Real telemetry from the OpenTelemetry JS SDKs, captured in memory, for
 * feeding the official OTLP serializers in tests.
 */
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";

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
