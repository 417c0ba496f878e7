import { swaggerUI } from "@hono/swagger-ui";
import type { MiddlewareHandler } from "hono";
import { createApiKeyRegistry } from "./auth/api-keys";
import { createExplorerRouter } from "./explorer";
import { createHealthRouter } from "./health";
import { bodyBudgetFromConfig } from "./http/body-budget";
import type { AppDeps, AppEnv } from "./http/context";
import { handleError, handleNotFound } from "./http/error-handler";
import { apiKeyAuth } from "./http/middleware/auth";
import { httpMetrics } from "./http/middleware/http-metrics";
import { rateLimit } from "./http/middleware/rate-limit";
import { requestId } from "./http/middleware/request-id";
import { requestLog } from "./http/middleware/request-log";
import { tracing } from "./http/middleware/tracing";
import { createRouter } from "./http/router";
import { createIngestRouter } from "./ingest";
import { createLifecycleRouter } from "./lifecycle";
import { createMetricsRouter } from "./metrics";
import { createOtlpRouter } from "./otlp";
import { otlpErrors } from "./otlp/otlp.handlers";
import { createQueryRouter } from "./query";
import { createTailRouter, tailTokenAuth } from "./tail";

/**
 * Builds the HTTP app from its dependencies. Pure wiring: no environment
 * reads, no connections opened, no ports. Tests build one per case and call
 * `app.request()`.
 */
export function createApp(deps: AppDeps) {
  const app = createRouter();
  const bodyBudget = deps.bodyBudget ?? bodyBudgetFromConfig(deps.config);
  const provideDeps: MiddlewareHandler<AppEnv> = async function provideDeps(c, next) {
    c.set("deps", deps);
    c.set("bodyBudget", bodyBudget);
    await next();
  };
  // Order matters: id first so every later line and error carries it; then
  // log, metrics and trace around everything else.
  app.use(provideDeps, requestId, requestLog, httpMetrics, tracing);

  // Open routes. Hono runs the handlers matching a request in the order they
  // were registered, and these answer without calling next(), so the
  // protected router's middleware below never run for them.
  app.route("/", createHealthRouter());
  app.route("/", createMetricsRouter(deps.config.METRICS_TOKEN, deps.config.NODE_ENV === "production"));
  app.get("/api/docs", swaggerUI({ url: "/api/openapi.json" }));
  // The document is built when asked for, from every route registered by then.
  app.openAPIRegistry.registerComponent("securitySchemes", "ApiKeyAuth", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "A key from API_KEYS; it decides the tenant",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "TailToken", {
    type: "apiKey",
    in: "query",
    name: "token",
    description: "GET /tail only: a short-lived token from POST /tail/token, for EventSource",
  });
  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Telemetry Vault",
      version: "1.0.0",
      description: "Multi-tenant ingestion and query of logs, metrics and traces.",
    },
  });

  app.route("/", createExplorerRouter());

  // OTLP answers every failure as a google.rpc.Status, authentication and
  // rate limiting included, so its error rendering wraps theirs.
  app.use("/v1/*", otlpErrors);

  // Everything else needs an API key and counts against the tenant's limit:
  // auth before the limiter, so limits are per tenant.
  const api = createRouter();
  api.use("/tail", tailTokenAuth);
  api.use(apiKeyAuth(createApiKeyRegistry(deps.config.API_KEYS)), rateLimit);
  api.route("/", createIngestRouter());
  api.route("/", createQueryRouter());
  api.route("/", createOtlpRouter());
  api.route("/", createLifecycleRouter());
  api.route("/", createTailRouter());
  app.route("/", api);

  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}

export type App = ReturnType<typeof createApp>;
