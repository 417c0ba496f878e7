import { createRouter, serveDocumented } from "../http/router";
import type { OtlpSignal } from "./decode";
import { otlpExportHandler } from "./otlp.handlers";
import { otlpRoute } from "./otlp.routes";

/** POST /v1/traces, /v1/logs, /v1/metrics: OTLP/HTTP (protobuf or JSON, maybe gzip) into the events table. */
export function createOtlpRouter() {
  const router = createRouter();
  for (const signal of ["traces", "logs", "metrics"] as OtlpSignal[]) serveDocumented(router, otlpRoute(signal), otlpExportHandler(signal));
  return router;
}
