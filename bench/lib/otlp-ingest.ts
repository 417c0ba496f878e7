import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { BodyPool } from "./http-ingest";
import { post, runLoad, type LoadResult } from "./load";

/**
 * OTLP/HTTP protobuf export requests as the OpenTelemetry JS SDK makes them:
 * real spans from the SDK, serialized by the official OTLP serializer. Every
 * request holds fresh trace and span ids, so every span is a new event.
 */
export function otlpTracePool(count: number, spansPerRequest: number): BodyPool {
  const make = () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "bench-otlp", "service.version": "1.0.0", "host.name": "bench-1" }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer("bench", "1.0.0");
    for (let i = 0; i < spansPerRequest; i++) {
      const span = tracer.startSpan(`GET /api/items/${i % 50}`, {
        kind: SpanKind.SERVER,
        attributes: { "http.request.method": "GET", "url.path": `/api/items/${i % 50}`, "http.response.status_code": 200, "app.item": i },
      });
      span.addEvent("cache.lookup", { "cache.key": `item:${i}` });
      span.setStatus({ code: SpanStatusCode.OK });
      span.end();
    }
    return ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!;
  };
  return new BodyPool(Array.from({ length: count }, make), make);
}

/** POST /v1/traces with prebuilt protobuf bodies; every answer must be 200. */
export async function runOtlpPhase(options: {
  url: string;
  apiKey: string;
  pool: BodyPool;
  spansPerRequest: number;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  onWindow?: (phase: "start" | "end") => void;
}): Promise<LoadResult & { sentOkSpans: number; prebuilt: number; builtDuringRun: number }> {
  const headers = { "content-type": "application/x-protobuf", "x-api-key": options.apiKey };
  const target = `${options.url}/v1/traces`;
  let sentOkSpans = 0;
  const result = await runLoad({
    ...options, // concurrency, warm-up, duration, onWindow
    request: async () => {
      const { body } = options.pool.next();
      const res = await post(target, headers, body);
      if (res.status !== 200) return { ok: false, events: 0, status: res.status, error: res.error ?? `HTTP ${res.status}` };
      sentOkSpans += options.spansPerRequest; // synchronous after the await: no lost update
      return { ok: true, events: options.spansPerRequest };
    },
  });
  return { ...result, sentOkSpans, prebuilt: options.pool.bodies.length, builtDuringRun: options.pool.builtDuringRun };
}
