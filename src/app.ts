import { swaggerUI } from "@hono/swagger-ui";
import { createApiKeyRegistry } from "./auth/api-keys";
import { createExplorerRouter } from "./explorer";
import { createHealthRouter } from "./health";
import type { AppDeps } from "./http/context";
import { handleError, handleNotFound } from "./http/error-handler";
import { apiKeyAuth } from "./http/middleware/auth";
import { rateLimit } from "./http/middleware/rate-limit";
import { requestId } from "./http/middleware/request-id";
import { requestLog } from "./http/middleware/request-log";
import { createRouter } from "./http/router";
import { createIngestRouter } from "./ingest";
import { createMetricsRouter } from "./observability/metrics.route";
import { tracing } from "./observability/tracing";
import { otlpErrors } from "./otlp/otlp.handlers";
import { createOtlpRouter } from "./otlp/router";
import { createQueryRouter } from "./query";

/**
 * Builds the HTTP app from its dependencies. Pure wiring: no environment
 * reads, no connections opened, no ports. Tests build one per case and call
 * `app.request()`.
 */
export function createApp(deps: AppDeps) {
  const app = createRouter();
  const keys = createApiKeyRegistry(deps.config.API_KEYS);

  app.use("*", async function provideDeps(c, next) {
    c.set("deps", deps);
    await next();
  });
  // Order matters: id first so every later line and error carries it; then
  // log/trace around everything; auth before the limiter so limits are per tenant.
  app.use("*", requestId);
  app.use("*", requestLog);
  app.use("*", tracing);
  // OTLP answers failures as google.rpc.Status, auth and rate limit included.
  app.use("/v1/*", otlpErrors);
  app.use("*", apiKeyAuth(keys));
  app.use("*", rateLimit);

  app.route("/", createHealthRouter());
  app.route("/", createIngestRouter());
  app.route("/", createQueryRouter());
  app.route("/", createOtlpRouter());
  app.route("/", createMetricsRouter());

  app.openAPIRegistry.registerComponent("securitySchemes", "ApiKeyAuth", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "A key from API_KEYS; it decides the tenant",
  });
  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Telemetry Vault",
      version: "1.0.0",
      description: "Multi-tenant ingestion and query of logs, metrics and traces.",
    },
  });
  app.get("/api/docs", swaggerUI({ url: "/api/openapi.json" }));
  app.route("/", createExplorerRouter());

  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}

export type App = ReturnType<typeof createApp>;
