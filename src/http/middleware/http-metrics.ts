import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { matchedRoute } from "../route-name";

/** Request counts and durations by route, and events ingested or refused as duplicates by tenant. */
export const httpMetrics = createMiddleware<AppEnv>(async function httpMetrics(c, next) {
  const metrics = c.get("deps").metrics;
  if (!metrics) return next();
  const started = performance.now();
  await next();

  const route = matchedRoute(c);
  metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
  metrics.httpDuration.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
  const stats = c.get("ingestStats");
  const tenant = c.get("tenantId");
  if (stats && tenant) {
    metrics.eventsIngested.inc({ tenant }, stats.ingested);
    metrics.eventsDuplicate.inc({ tenant }, stats.duplicates);
  }
});
