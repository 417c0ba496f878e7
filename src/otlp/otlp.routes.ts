import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../http/api-error";
import { apiKeySecurity } from "../http/router";
import type { OtlpSignal } from "./decode";

const SIGNALS: Record<OtlpSignal, { path: `/v1/${OtlpSignal}`; record: string }> = {
  traces: { path: "/v1/traces", record: "span" },
  logs: { path: "/v1/logs", record: "log record" },
  metrics: { path: "/v1/metrics", record: "metric data point" },
};

const OtlpBody = z.string().openapi({ format: "binary", description: "An OTLP Export*ServiceRequest" });

/** Documentation of the OTLP/HTTP endpoints; bodies are decoded by the handlers. */
export function otlpRoute(signal: OtlpSignal) {
  const { path, record } = SIGNALS[signal];
  return createRoute({
    method: "post",
    path,
    tags: ["OpenTelemetry (OTLP/HTTP)"],
    summary: `OTLP/HTTP ${signal} export`,
    description:
      `Standard OTLP/HTTP endpoint: point an OpenTelemetry exporter here with the X-API-Key header. ` +
      `Each ${record} becomes one event (eventType ${signal === "traces" ? "trace" : signal === "logs" ? "log" : "metric"}); ` +
      `retried exports are counted as duplicates. Protobuf or JSON, optionally gzip.`,
    security: apiKeySecurity,
    request: {
      body: {
        required: true,
        content: { "application/x-protobuf": { schema: OtlpBody }, "application/json": { schema: z.object({}).passthrough() } },
      },
    },
    responses: {
      200: {
        description: "Export*ServiceResponse in the request's encoding; partial_success names dropped records",
        content: { "application/x-protobuf": { schema: OtlpBody }, "application/json": { schema: z.object({}).passthrough() } },
      },
      400: { description: "Malformed body: a google.rpc.Status in the request's encoding" },
      ...errorResponses(401, 413, 415, 429, 503),
    },
  });
}
