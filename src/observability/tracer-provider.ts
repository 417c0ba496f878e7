import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import type { Config } from "../config";

/**
 * A tracer provider that is *not* registered globally: the app receives its
 * tracer through deps. Spans go to OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
 * (or the traces-specific variable) is set; the exporter reads the standard
 * OTEL_* variables itself.
 */
export function createTracerProvider(config: Config, processors: SpanProcessor[] = []) {
  const exporting = config.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const spanProcessors = exporting ? [new BatchSpanProcessor(new OTLPTraceExporter()), ...processors] : processors;
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": config.OTEL_SERVICE_NAME }),
    spanProcessors,
  });
}
