import type { Redis } from "ioredis";
import type { Config } from "../config";
import { createMemoryRateLimiter } from "./memory-limiter";
import type { RateLimiter } from "./rate-limiter";
import { createRedisClient } from "./redis-client";
import { createRedisRateLimiter } from "./redis-limiter";
import { createResilientRateLimiter, type LimiterLogger } from "./resilient-limiter";

/**
 * The limiter the config asks for: Redis-backed (shared by all replicas) with
 * an in-process fallback when REDIS_URL is set, in-process only otherwise.
 * The caller owns the returned Redis client and quits it at shutdown.
 */
export function createLimiterFromConfig(
  config: Config,
  logger: LimiterLogger,
  onFallback?: () => void,
): { limiter: RateLimiter; redis?: Redis } {
  const limits = { limit: config.RATE_LIMIT_MAX_REQUESTS, windowMs: config.RATE_LIMIT_WINDOW_MS };
  const memory = createMemoryRateLimiter(limits);
  if (!config.REDIS_URL) return { limiter: memory };

  const redis = createRedisClient(config.REDIS_URL, {
    commandTimeoutMs: config.RATE_LIMIT_TIMEOUT_MS + 50,
    logger,
  });
  const limiter = createResilientRateLimiter({
    primary: createRedisRateLimiter({ redis, ...limits, timeoutMs: config.RATE_LIMIT_TIMEOUT_MS }),
    fallback: memory,
    logger,
    onFallback,
  });
  return { limiter, redis };
}
