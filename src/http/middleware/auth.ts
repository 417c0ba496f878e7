import { createMiddleware } from "hono/factory";
import { ApiError } from "../api-error";
import type { ApiKeyRegistry } from "../../auth/api-keys";
import { isExplorerPath } from "../../explorer";
import type { AppEnv } from "../context";

/** Paths anyone may call: liveness/readiness, the API docs, the explorer's static page. */
export function isOpenPath(path: string): boolean {
  return (
    path === "/health" ||
    path.startsWith("/health/") ||
    path === "/api/docs" ||
    path === "/api/openapi.json" ||
    path === "/metrics" || // guarded by its own optional METRICS_TOKEN
    isExplorerPath(path) // the page and its assets only; its data comes from /query with the user's key
  );
}

/**
 * Resolves X-API-Key to a tenant. Unknown or missing keys stop here with 401,
 * before any database work. Any tenant named in a body is ignored: the key
 * alone decides.
 */
export function apiKeyAuth(keys: ApiKeyRegistry) {
  return createMiddleware<AppEnv>(async function apiKeyAuth(c, next) {
    if (isOpenPath(c.req.path)) return next();
    const key = c.req.header("x-api-key");
    const tenant = key ? keys.tenantFor(key) : undefined;
    if (!tenant) {
      throw new ApiError("unauthorized", key ? "The API key is not valid" : "Missing X-API-Key header");
    }
    c.set("tenantId", tenant);
    await next();
  });
}
