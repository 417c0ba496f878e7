import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { AppEnv } from "../context";

/**
 * One structured log line per request (requestId, tenant, method, route,
 * status, duration, ingest counts) and the HTTP metrics. Headers are never
 * logged, so the API key cannot leak from here.
 */
export const requestLog = createMiddleware<AppEnv>(async function requestLog(c, next) {
  const started = performance.now();
  const deps = c.get("deps");
  await next();

  const durationMs = Math.round((performance.now() - started) * 100) / 100;
  const route = matchedRoute(c);
  const status = c.res.status;
  const stats = c.get("ingestStats");
  // Plain fields, not child loggers: a child per request costs more than the line itself.
  const line = {
    requestId: c.get("requestId"),
    ...(c.get("tenantId") ? { tenant: c.get("tenantId") } : {}),
    ...(c.get("traceId") ? { traceId: c.get("traceId") } : {}),
    method: c.req.method,
    route,
    status,
    durationMs,
    ...(stats ? { ingested: stats.ingested, duplicates: stats.duplicates } : {}),
  };
  if (status >= 500) deps.logger.error(line, "request");
  else deps.logger.info(line, "request");

  if (deps.metrics) {
    deps.metrics.httpRequests.inc({ method: c.req.method, route, status: String(status) });
    deps.metrics.httpDuration.observe({ method: c.req.method, route }, durationMs / 1000);
    if (stats && c.get("tenantId")) {
      deps.metrics.eventsIngested.inc({ tenant: c.get("tenantId") }, stats.ingested);
      deps.metrics.eventsDuplicate.inc({ tenant: c.get("tenantId") }, stats.duplicates);
    }
  }
});

/** The route pattern (e.g. "/ingest"), never the raw path, so labels stay few. */
export function matchedRoute(c: Parameters<typeof routePath>[0]): string {
  const path = routePath(c, -1);
  return !path || path === "*" || path.endsWith("/*") ? "unmatched" : path;
}
