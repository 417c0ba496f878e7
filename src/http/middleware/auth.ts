import { createMiddleware } from "hono/factory";
import type { ApiKeyRegistry } from "../../auth/api-keys";
import { ApiError } from "../api-error";
import type { AppEnv } from "../context";

/**
 * Resolves X-API-Key to a tenant. Unknown or missing keys stop here with 401,
 * before any database work. Any tenant named in a body is ignored: the key
 * alone decides. Mounted on the protected router only (app.ts).
 */
export function apiKeyAuth(keys: ApiKeyRegistry) {
  return createMiddleware<AppEnv>(async function apiKeyAuth(c, next) {
    // Already authenticated by a tail token (tail/token-auth.ts, GET /tail only).
    if (c.get("tenantId") !== undefined) return next();
    const key = c.req.header("x-api-key");
    const tenant = key ? keys.tenantFor(key) : undefined;
    if (!tenant) {
      throw new ApiError("unauthorized", key ? "The API key is not valid" : "Missing X-API-Key header");
    }
    c.set("tenantId", tenant);
    c.set("keyFingerprint", keys.fingerprint(key!));
    await next();
  });
}
