import { bearerToken } from "../http/middleware/bearer-token";
import { createRouter } from "../http/router";
import { handleMetrics } from "./metrics.handlers";
import { metricsRoute } from "./metrics.routes";

/** GET /metrics: open, or behind METRICS_TOKEN as a bearer token when one is set. */
export function createMetricsRouter(token: string | undefined) {
  const router = createRouter();
  router.use(metricsRoute.path, bearerToken(token));
  router.openapi(metricsRoute, handleMetrics);
  return router;
}
