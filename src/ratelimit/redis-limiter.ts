import { randomBytes } from "node:crypto";
import type { Redis, Result } from "ioredis";
import { withTimeout } from "./errors";
import { assertValidLimits } from "./options";
import type { RateLimitDecision, RateLimiter, RateLimitOptions } from "./rate-limiter";
import { SLIDING_WINDOW_LUA } from "./sliding-window-script";

/** Name under which the script is registered on the ioredis client. */
const COMMAND = "tvSlidingWindowCheck";

/** allowed (0|1), count after this request, oldest counted score (µs), Redis now (µs). */
type ScriptReply = [allowed: number, count: number, oldestUs: number, nowUs: number];

declare module "ioredis" {
  interface RedisCommander<Context> {
    tvSlidingWindowCheck(
      key: string,
      limit: number,
      windowMs: number,
      requestId: string,
    ): Result<ScriptReply, Context>;
  }
}

export interface RedisRateLimiterOptions extends RateLimitOptions {
  /** An ioredis client; the limiter does not own it (close() leaves it open). See createRedisClient. */
  redis: Redis;
  /** Prefix of the per-tenant sorted-set keys. */
  keyPrefix?: string;
  /** Upper bound for each check and health probe; the call rejects with RateLimiterTimeoutError. */
  timeoutMs?: number;
}

export interface RedisRateLimiter extends RateLimiter {
  readonly mode: "redis";
  /** PING within timeoutMs. */
  health(): Promise<"ok" | "degraded">;
  /** No-op: the Redis client belongs to the caller. */
  close(): Promise<void>;
}

/**
 * Distributed sliding-window limiter: one sorted set per tenant, one atomic
 * Lua script per check (see sliding-window-script.ts).
 *
 * The script goes through ioredis defineCommand, which sends EVALSHA and
 * falls back to EVAL on NOSCRIPT, so a Redis restart or SCRIPT FLUSH is
 * invisible to callers.
 *
 * check() rejects (never hangs) when Redis errors or is slower than
 * `timeoutMs`; wrap it with createResilientRateLimiter to keep answering.
 * With a client whose offline queue is enabled, a timed-out command may still
 * run later and count; createRedisClient disables that queue.
 *
 * resetAtMs is on Redis's clock (TIME), retryAfterMs is a duration measured
 * entirely on Redis's clock, so it is immune to app-server clock skew.
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  assertValidLimits(options);
  const { redis, limit, windowMs, keyPrefix = "tv:rl:", timeoutMs = 100 } = options;
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);

  // Redefining is harmless (same script, same name), so several limiters may share a client.
  redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: SLIDING_WINDOW_LUA });

  const nextRequestId = createRequestIdSource();

  async function check(key: string): Promise<RateLimitDecision> {
    const reply = await withTimeout(
      redis.tvSlidingWindowCheck(keyPrefix + key, limit, windowMs, nextRequestId()),
      timeoutMs,
    );
    return toDecision(reply, limit, windowMs);
  }

  async function health(): Promise<"ok" | "degraded"> {
    try {
      await withTimeout(redis.ping(), timeoutMs);
      return "ok";
    } catch {
      return "degraded";
    }
  }

  return { mode: "redis", check, health, close: async () => {} };
}

function toDecision([allowed, count, oldestUs, nowUs]: ScriptReply, limit: number, windowMs: number): RateLimitDecision {
  const resetAtUs = oldestUs + windowMs * 1000;
  const resetAtMs = Math.ceil(resetAtUs / 1000);
  if (allowed === 1) {
    return { allowed: true, limit, remaining: Math.max(0, limit - count), resetAtMs, retryAfterMs: 0 };
  }
  const retryAfterMs = Math.max(1, Math.ceil((resetAtUs - nowUs) / 1000));
  return { allowed: false, limit, remaining: 0, resetAtMs, retryAfterMs };
}

/**
 * Request ids only need to be unique among requests landing in the same
 * microsecond: a random per-limiter prefix separates processes, a counter
 * separates requests of this process.
 */
function createRequestIdSource(): () => string {
  const instance = randomBytes(6).toString("base64url");
  let counter = 0;
  return () => `${instance}:${(counter++).toString(36)}`;
}
