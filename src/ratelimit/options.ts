import type { RateLimitOptions } from "./rate-limiter";

/**
 * Rejects nonsensical limits at construction time: a limiter built with
 * limit 0 or a NaN window would silently reject (or allow) everything.
 */
export function assertValidLimits({ limit, windowMs }: RateLimitOptions): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`rate limit must be a positive integer, got ${limit}`);
  }
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
    throw new RangeError(`rate limit windowMs must be a positive integer, got ${windowMs}`);
  }
}
