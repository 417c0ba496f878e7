import { createRoute, z } from "@hono/zod-openapi";
import { apiKeySecurity } from "../http/router";
import type { OtlpSignal } from "./decode";

const SIGNALS: Record<OtlpSignal, { path: `/v1/${OtlpSignal}`; record: string }> = {
  traces: { path: "/v1/traces", record: "span" },
  logs: { path: "/v1/logs", record: "log record" },
  metrics: { path: "/v1/metrics", record: "metric data point" },
};

const OtlpBody = z.string().openapi({ format: "binary", description: "An OTLP Export*ServiceRequest" });

/** OTLP/HTTP failures are a google.rpc.Status, in the request's encoding (protobuf unless it sent JSON). */
const RpcStatus = z
  .object({
    code: z.number().int().openapi({ description: "google.rpc.Code: 3 invalid argument, 8 resource exhausted, 14 unavailable, 16 unauthenticated", example: 3 }),
    message: z.string().openapi({ example: "invalid OTLP request: span.traceId must be a hex string" }),
    details: z.array(z.unknown()),
  })
  .openapi("RpcStatus");

function statusResponses(descriptions: Record<number, string>) {
  const content = {
    "application/x-protobuf": { schema: z.string().openapi({ format: "binary", description: "google.rpc.Status" }) },
    "application/json": { schema: RpcStatus },
  };
  return Object.fromEntries(Object.entries(descriptions).map(([status, description]) => [status, { description, content }]));
}

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
      ...statusResponses({
        400: "Malformed body",
        401: "Missing or unknown API key",
        413: "Body or export too large",
        415: "Unsupported content type or encoding",
        429: "Rate limited; see Retry-After",
        503: "Passing fault; retry after Retry-After seconds",
      }),
    },
  });
}
