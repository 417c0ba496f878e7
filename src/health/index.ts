import { createRouter } from "../http/router";
import { handleLiveness, handleReadiness } from "./health.handlers";
import { livenessRoute, readinessRoute } from "./health.routes";

/** GET /health (liveness) and /health/ready (readiness): open, touch no tenant data. */
export function createHealthRouter() {
  const router = createRouter();
  router.openapi(livenessRoute, handleLiveness);
  router.openapi(readinessRoute, handleReadiness);
  return router;
}
