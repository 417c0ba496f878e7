/**
 * The rate limiter contract shared by the in-process and the Redis limiter.
 *
 * A limiter answers one question per request: may this tenant make one more
 * request now? It uses a true sliding window: at most `limit` allowed
 * requests in any span of `windowMs`. A rejected request is not recorded,
 * so it never pushes the tenant's window further out.
 */
export interface RateLimitDecision {
  allowed: boolean;
  /** The configured maximum per window. */
  limit: number;
  /** Requests still allowed in the current window after this one. */
  remaining: number;
  /**
   * Epoch milliseconds at which the oldest counted request leaves the window
   * (the next slot frees); now + windowMs when the window was empty. The Redis
   * limiter reports this on Redis's clock, so for relative headers prefer
   * retryAfterMs, which is skew-free.
   */
  resetAtMs: number;
  /** When rejected: milliseconds until a retry can succeed (>= 1). 0 when allowed. */
  retryAfterMs: number;
}

export interface RateLimiter {
  /** Counts one request for `key` if allowed. Never throws for an allowed/denied answer. */
  check(key: string): Promise<RateLimitDecision>;
  /** Which backend answered the last check: "redis", "memory", or "memory-fallback" (resilient limiter on its fallback). */
  readonly mode?: string;
  /** Health of the backing store for /health/ready. */
  health?(): Promise<"ok" | "degraded" | "disabled">;
  close?(): Promise<void>;
}

export interface RateLimitOptions {
  limit: number;
  windowMs: number;
}
