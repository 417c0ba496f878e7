import { assertValidLimits } from "./options";
import type { RateLimitDecision, RateLimiter, RateLimitOptions } from "./rate-limiter";
import { TimestampRing } from "./timestamp-ring";

export interface MemoryRateLimiterOptions extends RateLimitOptions {
  /** Epoch-milliseconds clock; injectable so tests control time. */
  now?: () => number;
}

export interface MemoryRateLimiter extends RateLimiter {
  readonly mode: "memory";
  health(): Promise<"ok">;
  close(): Promise<void>;
  /** Number of keys currently holding state (for tests and diagnostics). */
  trackedKeys(): number;
}

/**
 * In-process true sliding-window limiter: per key, a log of the timestamps
 * of allowed requests. A request at `t` occupies a slot until `t + windowMs`
 * (exclusive), so at most `limit` requests are allowed in any half-open span
 * of `windowMs`. This is the same rule the Redis script applies.
 *
 * State is per process: behind N instances the effective limit is N × limit.
 * That is acceptable for its two uses: single-instance deployments and the
 * short-lived fallback while Redis is unavailable.
 */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions): MemoryRateLimiter {
  assertValidLimits(options);
  const { limit, windowMs } = options;
  const now = options.now ?? Date.now;
  const rings = new Map<string, TimestampRing>();
  let lastSweepAt = Number.NEGATIVE_INFINITY;
  let latest = Number.NEGATIVE_INFINITY;

  /** Wall clocks can step backwards (NTP); the rings must stay sorted, so time only moves forward here. */
  function monotonicNow(): number {
    latest = Math.max(latest, now());
    return latest;
  }

  /**
   * Keys of tenants that stopped sending would otherwise live forever.
   * A full sweep at most once per window keeps memory proportional to the
   * tenants active in the last ~2 windows, at amortised O(1) per check.
   */
  function sweepIfDue(at: number): void {
    if (at - lastSweepAt < windowMs) return;
    lastSweepAt = at;
    const cutoff = at - windowMs;
    for (const [key, ring] of rings) {
      ring.dropThrough(cutoff);
      if (ring.size === 0) rings.delete(key);
    }
  }

  function decide(key: string): RateLimitDecision {
    const at = monotonicNow();
    sweepIfDue(at);
    let ring = rings.get(key);
    ring?.dropThrough(at - windowMs);
    const used = ring?.size ?? 0;

    if (used >= limit) {
      // used >= limit >= 1, so the ring exists and is non-empty.
      const resetAtMs = ring!.oldest() + windowMs;
      return { allowed: false, limit, remaining: 0, resetAtMs, retryAfterMs: Math.max(1, Math.ceil(resetAtMs - at)) };
    }

    if (!ring) {
      ring = new TimestampRing(limit);
      rings.set(key, ring);
    }
    ring.push(at);
    return { allowed: true, limit, remaining: limit - used - 1, resetAtMs: ring.oldest() + windowMs, retryAfterMs: 0 };
  }

  return {
    mode: "memory",
    check: async (key: string) => decide(key),
    health: async () => "ok",
    close: async () => rings.clear(),
    trackedKeys: () => rings.size,
  };
}
