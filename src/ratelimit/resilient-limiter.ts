import type { RateLimitDecision, RateLimiter } from "./rate-limiter";

/** The subset of a pino logger this module uses. */
export interface LimiterLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export interface ResilientRateLimiterOptions {
  /** Usually the Redis limiter. Expected to reject (not hang) when unavailable. */
  primary: RateLimiter;
  /** Usually the in-process limiter. Must not fail. */
  fallback: RateLimiter;
  logger: LimiterLogger;
  /** At most one "primary unavailable" warning per interval. Default 30 s. */
  warnIntervalMs?: number;
  /** Circuit-breaker pause after a primary failure before the next probe. Default 500 ms. */
  retryPrimaryAfterMs?: number;
  /** Called once per check answered by the fallback, e.g. to increment a metrics counter. */
  onFallback?: () => void;
  now?: () => number;
}

export interface ResilientRateLimiter extends RateLimiter {
  /** Primary's mode (e.g. "redis") when it answered last, "memory-fallback" otherwise. */
  readonly mode: string;
  /** "degraded" while the primary is failing (or its own health says so), else the primary's health. */
  health(): Promise<"ok" | "degraded" | "disabled">;
  /** Closes primary and fallback (the Redis limiter leaves its client open). */
  close(): Promise<void>;
}

/**
 * Prefers the primary limiter and answers from the fallback whenever the
 * primary errors or times out, so rate limiting never fails a request.
 *
 * Circuit breaker: after a failure the primary is skipped for
 * `retryPrimaryAfterMs`; then exactly one request probes it while the others
 * keep using the fallback. An outage therefore costs at most one request per
 * probe interval the primary's timeout, not every request. When a probe
 * succeeds, all traffic returns to the primary. In-flight requests that
 * started before the outage was detected still pay their own timeout.
 *
 * Fallback counts are per process and are not merged back into the primary
 * on recovery: during an outage each instance enforces `limit` on its own.
 */
export function createResilientRateLimiter(options: ResilientRateLimiterOptions): ResilientRateLimiter {
  const { primary, fallback, logger, warnIntervalMs = 30_000, retryPrimaryAfterMs = 500, onFallback } = options;
  const now = options.now ?? Date.now;
  const primaryMode = primary.mode ?? "primary";

  let mode = primaryMode;
  let degradedSince: number | undefined;
  let nextProbeAt = 0;
  let probeInFlight = false;
  let lastWarnAt = Number.NEGATIVE_INFINITY;
  let warnedThisOutage = false;
  let fallbacksSinceWarn = 0;
  let fallbacksThisOutage = 0;

  /** Closed circuit: everyone uses the primary. Open: nobody until the probe time, then one prober. */
  function claimPrimaryAttempt(): boolean {
    if (degradedSince === undefined) return true;
    if (probeInFlight || now() < nextProbeAt) return false;
    probeInFlight = true;
    return true;
  }

  function recordPrimarySuccess(): void {
    mode = primaryMode;
    if (degradedSince === undefined) return;
    // Only announce recoveries of outages we announced, so a flapping primary cannot flood the log.
    if (warnedThisOutage) {
      logger.info(
        { outageMs: now() - degradedSince, fallbackChecks: fallbacksThisOutage },
        "rate limiter primary recovered; back to distributed limiting",
      );
    }
    degradedSince = undefined;
    warnedThisOutage = false;
    fallbacksThisOutage = 0;
  }

  function recordPrimaryFailure(err: unknown): void {
    const at = now();
    if (degradedSince === undefined) {
      degradedSince = at;
      fallbacksThisOutage = 0;
    }
    nextProbeAt = at + retryPrimaryAfterMs;
    if (at - lastWarnAt < warnIntervalMs) return;
    logger.warn(
      { err: errorMessage(err), fallbackChecksSinceLastWarning: fallbacksSinceWarn },
      "rate limiter primary unavailable; answering from in-process fallback",
    );
    lastWarnAt = at;
    warnedThisOutage = true;
    fallbacksSinceWarn = 0;
  }

  async function answerFromFallback(key: string): Promise<RateLimitDecision> {
    mode = "memory-fallback";
    fallbacksSinceWarn++;
    fallbacksThisOutage++;
    try {
      onFallback?.();
    } catch {
      // A broken metrics hook must not turn into a failed request.
    }
    return fallback.check(key);
  }

  async function check(key: string): Promise<RateLimitDecision> {
    if (!claimPrimaryAttempt()) return answerFromFallback(key);
    const isProbe = degradedSince !== undefined;
    try {
      const decision = await primary.check(key);
      recordPrimarySuccess();
      return decision;
    } catch (err) {
      recordPrimaryFailure(err);
      return answerFromFallback(key);
    } finally {
      if (isProbe) probeInFlight = false;
    }
  }

  async function health(): Promise<"ok" | "degraded" | "disabled"> {
    if (degradedSince !== undefined) {
      // Readiness asks even when no request comes to probe: a primary healthy again closes the circuit.
      if (!primary.health || now() < nextProbeAt) return "degraded";
      try {
        if ((await primary.health()) !== "ok") return "degraded";
      } catch {
        return "degraded";
      }
      recordPrimarySuccess();
      return "ok";
    }
    if (!primary.health) return "ok";
    try {
      return await primary.health();
    } catch {
      return "degraded";
    }
  }

  async function close(): Promise<void> {
    await Promise.allSettled([primary.close?.(), fallback.close?.()]);
  }

  return {
    get mode() {
      return mode;
    },
    check,
    health,
    close,
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
