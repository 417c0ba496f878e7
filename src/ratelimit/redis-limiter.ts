import { randomBytes } from "node:crypto";
import type { Redis, Result } from "ioredis";
import { RateLimiterTimeoutError, withTimeout } from "./errors";
import { assertValidLimits } from "./options";
import type { RateLimitDecision, RateLimiter, RateLimitOptions } from "./rate-limiter";
import { SLIDING_WINDOW_LUA } from "./sliding-window-script";

/** Name under which the script is registered on the ioredis client. */
const COMMAND = "tvSlidingWindowCheck";

/** Requests admitted (0..n), count before them, oldest counted score (µs), Redis now (µs). */
type ScriptReply = [admitted: number, countBefore: number, oldestUs: number, nowUs: number];

/**
 * Checks of one tenant sent in one script call at most. ZADD receives two
 * arguments per admitted request through Lua's unpack, whose stack is small.
 */
const MAX_CHECKS_PER_CALL = 256;

declare module "ioredis" {
  interface RedisCommander<Context> {
    tvSlidingWindowCheck(
      key: string,
      limit: number,
      windowMs: number,
      batchId: string,
      n: number,
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
 * Lua script call per check (see sliding-window-script.ts).
 *
 * Checks of a tenant that arrive while its previous call is on the wire wait
 * for it and then go together in the next call, which admits as many as the
 * window has room for. A lone request is sent at once; under load a busy
 * tenant costs one round trip per batch instead of one per request. Limits
 * stay exact across replicas: each call is atomic in Redis.
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

  const nextBatchId = createBatchIdSource();
  /** Checks waiting for their tenant's call in flight; a key is present while a call is. */
  const waiting = new Map<string, Waiter[]>();

  function check(key: string): Promise<RateLimitDecision> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      const queue = waiting.get(key);
      if (!queue) return void send(key, [waiter]);
      // A queued check gets the same budget as a lone one, counted from its
      // arrival: a Redis that answers just in time must not let a busy
      // tenant's queue grow without bound.
      waiter.timer = setTimeout(() => {
        const current = waiting.get(key);
        const at = current ? current.indexOf(waiter) : -1;
        if (at >= 0) current!.splice(at, 1);
        reject(new RateLimiterTimeoutError(timeoutMs));
      }, timeoutMs);
      queue.push(waiter);
    });
  }

  async function send(key: string, batch: Waiter[]): Promise<void> {
    if (!waiting.has(key)) waiting.set(key, []);
    try {
      const reply = await withTimeout(
        redis.tvSlidingWindowCheck(keyPrefix + key, limit, windowMs, nextBatchId(), batch.length),
        timeoutMs,
      );
      batch.forEach((waiter, index) => {
        clearTimeout(waiter.timer);
        waiter.resolve(toDecision(reply, index, limit, windowMs));
      });
    } catch (error) {
      // Checks queued behind a failed call fail with it rather than wait for
      // another timeout: the caller answers them from its fallback at once.
      for (const waiter of [...batch, ...waiting.get(key)!]) {
        clearTimeout(waiter.timer);
        waiter.reject(error);
      }
      waiting.delete(key);
      return;
    }
    const queued = waiting.get(key)!;
    if (queued.length === 0) waiting.delete(key);
    else void send(key, queued.splice(0, MAX_CHECKS_PER_CALL));
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

interface Waiter {
  resolve(decision: RateLimitDecision): void;
  reject(error: unknown): void;
  /** Set while queued behind a call in flight: rejects the check once its budget is spent. */
  timer?: ReturnType<typeof setTimeout>;
}

/** The decision for the request at `index` of a batch: the first `admitted` are allowed, in order. */
function toDecision([admitted, countBefore, oldestUs, nowUs]: ScriptReply, index: number, limit: number, windowMs: number): RateLimitDecision {
  const resetAtUs = oldestUs + windowMs * 1000;
  const resetAtMs = Math.ceil(resetAtUs / 1000);
  if (index < admitted) {
    return { allowed: true, limit, remaining: Math.max(0, limit - countBefore - index - 1), resetAtMs, retryAfterMs: 0 };
  }
  const retryAfterMs = Math.max(1, Math.ceil((resetAtUs - nowUs) / 1000));
  return { allowed: false, limit, remaining: 0, resetAtMs, retryAfterMs };
}

/**
 * Batch ids only need to be unique among calls landing in the same
 * microsecond: a random per-limiter prefix separates processes, a counter
 * separates calls of this process.
 */
function createBatchIdSource(): () => string {
  const instance = randomBytes(6).toString("base64url");
  let counter = 0;
  return () => `${instance}:${(counter++).toString(36)}`;
}
