import { createMiddleware } from "hono/factory";
import { withSpan } from "./tracing";
import { ApiError } from "../api-error";
import type { AppEnv } from "../context";

/**
 * Counts every authenticated request against its tenant's sliding window.
 * Over the limit the handler is never reached: 429 with Retry-After.
 */
export const rateLimit = createMiddleware<AppEnv>(async function rateLimit(c, next) {
  const tenant = c.get("tenantId");
  if (!tenant) return next(); // open paths are not limited

  const decision = await withSpan(c, "ratelimit.check", { "tv.limiter": c.get("deps").limiter.mode ?? "unknown" }, () =>
    c.get("deps").limiter.check(tenant),
  );
  const headers: Record<string, string> = {
    "X-RateLimit-Limit": String(decision.limit),
    "X-RateLimit-Remaining": String(decision.remaining),
    "X-RateLimit-Reset": String(Math.ceil(decision.resetAtMs / 1000)),
  };
  if (!decision.allowed) {
    c.get("deps").metrics?.rateLimited.inc({ tenant });
    c.get("deps").usage?.rateLimited(tenant);
    const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new ApiError("rate_limited", `Rate limit of ${decision.limit} requests exceeded; retry in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
      headers,
    });
  }
  await next();
  for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
});
