import { createMiddleware } from "hono/factory";
import { ApiError } from "../http/api-error";
import type { AppEnv } from "../http/context";
import { bearerToken } from "../http/middleware/bearer-token";
import { createRouter } from "../http/router";
import { handleMetrics } from "./metrics.handlers";
import { metricsRoute } from "./metrics.routes";

/**
 * GET /metrics: behind METRICS_TOKEN as a bearer token when one is set;
 * without one, open in development and closed in production (the metrics
 * name tenants).
 */
export function createMetricsRouter(token: string | undefined, production: boolean) {
  const router = createRouter();
  router.use(metricsRoute.path, token === undefined && production ? closed : bearerToken(token));
  router.openapi(metricsRoute, handleMetrics);
  return router;
}

const closed = createMiddleware<AppEnv>(async function metricsClosed() {
  throw new ApiError("unauthorized", "GET /metrics needs METRICS_TOKEN to be set when NODE_ENV=production");
});
