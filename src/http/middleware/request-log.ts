import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { matchedRoute } from "../route-name";

/**
 * One structured log line per request: requestId, tenant, method, route,
 * status, duration, and the ingest counts when there are some. Headers are
 * never logged, so the API key cannot leak from here.
 */
export const requestLog = createMiddleware<AppEnv>(async function requestLog(c, next) {
  const started = performance.now();
  await next();

  const status = c.res.status;
  const stats = c.get("ingestStats");
  // Plain fields, not child loggers: a child per request costs more than the line itself.
  const line = {
    requestId: c.get("requestId"),
    ...(c.get("tenantId") ? { tenant: c.get("tenantId") } : {}),
    ...(c.get("traceId") ? { traceId: c.get("traceId") } : {}),
    method: c.req.method,
    route: matchedRoute(c),
    status,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    ...(stats ? { ingested: stats.ingested, duplicates: stats.duplicates } : {}),
  };
  const { logger } = c.get("deps");
  if (status >= 500) logger.error(line, "request");
  else logger.info(line, "request");
});
