import { createRouter } from "../http/router";
import type { OtlpSignal } from "./decode";
import { otlpExportHandler } from "./otlp.handlers";
import { otlpRoute } from "./otlp.routes";

/** POST /v1/traces, /v1/logs, /v1/metrics: OTLP/HTTP straight into the events table. */
export function createOtlpRouter() {
  const router = createRouter();
  for (const signal of ["traces", "logs", "metrics"] as OtlpSignal[]) {
    const route = otlpRoute(signal);
    // Documented through the registry, served by a plain handler: bodies are
    // protobuf or JSON, maybe gzip, which the JSON validator cannot read.
    router.openAPIRegistry.registerPath(route);
    router.post(route.path, otlpExportHandler(signal));
  }
  return router;
}
