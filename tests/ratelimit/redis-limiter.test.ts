import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { RateLimiterTimeoutError } from "../../src/ratelimit/errors";
import { createRedisClient, waitUntilReady } from "../../src/ratelimit/redis-client";
import { createRedisRateLimiter } from "../../src/ratelimit/redis-limiter";
import { SLIDING_WINDOW_LUA } from "../../src/ratelimit/sliding-window-script";
import { deleteKeysWithPrefix, resolveTestRedisUrl, sleep, uniqueKeyPrefix } from "./redis-test-env";

const REDIS_URL = resolveTestRedisUrl("redis-limiter");
const prefix = uniqueKeyPrefix();

describe.skipIf(!REDIS_URL)("redis rate limiter (real Redis)", () => {
  let admin: Redis;
  const clients: Redis[] = [];

  async function limiterClient(): Promise<Redis> {
    const client = createRedisClient(REDIS_URL!);
    clients.push(client);
    if (!(await waitUntilReady(client, 3000))) throw new Error(`Redis at ${REDIS_URL} not ready`);
    return client;
  }

  beforeAll(async () => {
    admin = new Redis(REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
  });

  afterAll(async () => {
    await deleteKeysWithPrefix(admin, prefix);
    for (const client of clients) client.disconnect();
    admin.disconnect();
  });

  test("exactly `limit` of 300 concurrent checks from 3 connections are allowed", async () => {
    const connections = await Promise.all([limiterClient(), limiterClient(), limiterClient()]);
    const limiters = connections.map((redis) =>
      createRedisRateLimiter({ redis, limit: 100, windowMs: 10_000, keyPrefix: prefix, timeoutMs: 2000 }),
    );
    const decisions = await Promise.all(Array.from({ length: 300 }, (_, i) => limiters[i % 3]!.check("burst")));
    const allowed = decisions.filter((d) => d.allowed);
    expect(allowed).toHaveLength(100);
    // Atomicity: each remaining value is handed out exactly once.
    expect(allowed.map((d) => d.remaining).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (const d of decisions.filter((d) => !d.allowed)) {
      expect(d.remaining).toBe(0);
      expect(d.retryAfterMs).toBeGreaterThanOrEqual(1);
      expect(d.retryAfterMs).toBeLessThanOrEqual(10_000);
    }
    expect(await admin.zcard(`${prefix}burst`)).toBe(100);
  });

  test("concurrent checks of one tenant share script calls, first come first admitted, counts exact", async () => {
    const redis = await limiterClient();
    const scriptCalls: number[] = [];
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string; args: unknown[] }) => {
      if (command.name === "evalsha" || command.name === "eval") scriptCalls.push(Number(command.args.at(-1)));
      return send(command as never);
    }) as typeof redis.sendCommand;
    const limiter = createRedisRateLimiter({ redis, limit: 300, windowMs: 10_000, keyPrefix: prefix, timeoutMs: 2000 });

    const decisions = await Promise.all(Array.from({ length: 700 }, () => limiter.check("shared")));
    // The first 300 submitted are the ones admitted, with remaining counting down.
    expect(decisions.slice(0, 300).map((d) => d.remaining)).toEqual(Array.from({ length: 300 }, (_, i) => 299 - i));
    expect(decisions.slice(300).every((d) => !d.allowed && d.remaining === 0 && d.retryAfterMs > 0)).toBe(true);
    expect(await admin.zcard(`${prefix}shared`)).toBe(300);
    // One call for the first check, then the rest in batches of at most 256.
    expect(scriptCalls[0]).toBe(1);
    expect(scriptCalls.reduce((a, b) => a + b, 0)).toBe(700);
    expect(Math.max(...scriptCalls)).toBeLessThanOrEqual(256);
    expect(scriptCalls.length).toBeLessThanOrEqual(5);
  });

  test("decision values follow Redis TIME; the key expires with the window", async () => {
    const redis = await limiterClient();
    const limiter = createRedisRateLimiter({ redis, limit: 2, windowMs: 5000, keyPrefix: prefix });
    const [seconds, micros] = await admin.time();
    const redisNowMs = Number(seconds) * 1000 + Number(micros) / 1000;

    const first = await limiter.check("values");
    expect(first).toMatchObject({ allowed: true, limit: 2, remaining: 1, retryAfterMs: 0 });
    expect(first.resetAtMs).toBeGreaterThanOrEqual(redisNowMs + 5000);
    expect(first.resetAtMs).toBeLessThan(redisNowMs + 5000 + 500);

    const second = await limiter.check("values");
    expect(second.remaining).toBe(0);
    expect(second.resetAtMs).toBe(first.resetAtMs); // still anchored on the oldest entry

    const rejected = await limiter.check("values");
    expect(rejected.allowed).toBe(false);
    expect(rejected.resetAtMs).toBe(first.resetAtMs);
    expect(rejected.retryAfterMs).toBeGreaterThan(4000);
    expect(rejected.retryAfterMs).toBeLessThanOrEqual(5000);

    const ttl = await admin.pttl(`${prefix}values`);
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
  });

  test("the window slides: slots free one by one as entries age out", async () => {
    const redis = await limiterClient();
    const limiter = createRedisRateLimiter({ redis, limit: 3, windowMs: 300, keyPrefix: prefix });
    expect((await limiter.check("slide")).allowed).toBe(true); // A at ~0
    await sleep(150);
    expect((await limiter.check("slide")).allowed).toBe(true); // B at ~150
    const bEnteredBy = performance.now();
    expect((await limiter.check("slide")).allowed).toBe(true); // C at ~150
    const full = await limiter.check("slide");
    expect(full.allowed).toBe(false);
    expect(full.retryAfterMs).toBeGreaterThanOrEqual(1);
    expect(full.retryAfterMs).toBeLessThanOrEqual(160);

    await sleep(full.retryAfterMs + 20); // A has left; B and C have not
    const afterA = await limiter.check("slide");
    expect(afterA.allowed).toBe(true);
    expect(afterA.remaining).toBe(0);
    // A fixed 300 ms bucket would have reset all three slots by now.
    const askedAt = performance.now();
    const stillFull = await limiter.check("slide");
    expect(stillFull.allowed).toBe(false);
    // What is left to wait is B's remaining age (about 130 ms), measured from
    // when B was surely in, so a slow machine's late sleeps cannot break it.
    expect(stillFull.retryAfterMs).toBeLessThanOrEqual(Math.ceil(bEnteredBy + 300 - askedAt) + 1);
  });

  test("rejected requests are not counted", async () => {
    const redis = await limiterClient();
    const limiter = createRedisRateLimiter({ redis, limit: 2, windowMs: 300, keyPrefix: prefix });
    const first = await limiter.check("rejects");
    await limiter.check("rejects");
    const resets = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const d = await limiter.check("rejects");
      expect(d.allowed).toBe(false);
      resets.add(d.resetAtMs);
      await sleep(15);
    }
    expect(resets).toEqual(new Set([first.resetAtMs]));
    expect(await admin.zcard(`${prefix}rejects`)).toBe(2);

    const [seconds, micros] = await admin.time();
    await sleep(first.resetAtMs - (Number(seconds) * 1000 + Number(micros) / 1000) + 20);
    expect((await limiter.check("rejects")).allowed).toBe(true);
  });

  test("requests within the same millisecond all count", async () => {
    const redis = await limiterClient();
    const limiter = createRedisRateLimiter({ redis, limit: 1000, windowMs: 10_000, keyPrefix: prefix });
    const decisions = await Promise.all(Array.from({ length: 200 }, () => limiter.check("same-ms")));
    expect(decisions.every((d) => d.allowed)).toBe(true);

    const entries = await admin.zrange(`${prefix}same-ms`, "0", "-1", "WITHSCORES");
    expect(entries.length / 2).toBe(200);
    const perMillisecond = new Map<number, number>();
    for (let i = 1; i < entries.length; i += 2) {
      const ms = Math.floor(Number(entries[i]) / 1000);
      perMillisecond.set(ms, (perMillisecond.get(ms) ?? 0) + 1);
    }
    expect(Math.max(...perMillisecond.values())).toBeGreaterThan(1);
  });

  test("SCRIPT FLUSH mid-traffic: no errors, nothing lost, script reloaded", async () => {
    const redis = await limiterClient();
    const limiter = createRedisRateLimiter({ redis, limit: 10_000, windowMs: 10_000, keyPrefix: prefix, timeoutMs: 2000 });
    await limiter.check("flush"); // make sure the script is cached before flushing
    const sha = createHash("sha1").update(SLIDING_WINDOW_LUA).digest("hex");

    let flushed = false;
    const worker = async () => {
      let allowed = 0;
      for (let i = 0; i < 40; i++) {
        if ((await limiter.check("flush")).allowed) allowed++;
        if (i === 10 && !flushed) {
          flushed = true;
          await admin.script("FLUSH");
        }
      }
      return allowed;
    };
    const allowedPerWorker = await Promise.all(Array.from({ length: 10 }, worker));
    expect(flushed).toBe(true);
    expect(allowedPerWorker.reduce((a, b) => a + b, 0)).toBe(400);
    expect(await admin.zcard(`${prefix}flush`)).toBe(401);
    expect(await admin.script("EXISTS", sha)).toEqual([1]);

    // Deterministic NOSCRIPT: this connection has sent the script before, so
    // ioredis tries EVALSHA first, gets NOSCRIPT, and must resend it as EVAL.
    await admin.script("FLUSH");
    expect(await admin.script("EXISTS", sha)).toEqual([0]);
    expect((await limiter.check("flush")).allowed).toBe(true);
    expect(await admin.script("EXISTS", sha)).toEqual([1]);
  });

  test("health is ok against a live Redis", async () => {
    const redis = await limiterClient();
    const limiter = createRedisRateLimiter({ redis, limit: 1, windowMs: 1000, keyPrefix: prefix });
    expect(limiter.mode).toBe("redis");
    expect(await limiter.health()).toBe("ok");
  });
});

describe("redis rate limiter timeouts (no Redis needed)", () => {
  test("a Redis that never answers makes check() reject within timeoutMs, without unhandled rejections", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    // Accepts connections and swallows every byte: a hung Redis.
    const blackHole = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    // Offline queue on, so commands wait for a reply that never comes (rather than failing fast).
    const redis = new Redis({ host: "127.0.0.1", port: blackHole.port, enableOfflineQueue: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on("error", () => {});
    try {
      const limiter = createRedisRateLimiter({ redis, limit: 5, windowMs: 1000, timeoutMs: 80 });
      const started = performance.now();
      const results = await Promise.allSettled([limiter.check("a"), limiter.check("b")]);
      const elapsed = performance.now() - started;
      for (const result of results) {
        expect(result.status).toBe("rejected");
        expect((result as PromiseRejectedResult).reason).toBeInstanceOf(RateLimiterTimeoutError);
      }
      expect(elapsed).toBeGreaterThanOrEqual(75);
      expect(elapsed).toBeLessThan(180);
      expect(await limiter.health()).toBe("degraded");

      redis.disconnect(); // rejects the still-queued commands after the limiter gave up on them
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      redis.disconnect();
      blackHole.stop(true);
    }
  });

  test("a check queued behind a slow call still settles within timeoutMs of its arrival", async () => {
    // A stand-in client whose script calls answer after 90 ms: inside a
    // 100 ms budget for a lone call, too late for one queued behind it.
    const slow = {
      defineCommand() {},
      tvSlidingWindowCheck: (_key: string, _limit: number, _windowMs: number, _batch: string, n: number) =>
        sleep(90).then(() => [n, 0, Date.now() * 1000, Date.now() * 1000]),
    } as unknown as Redis;
    const limiter = createRedisRateLimiter({ redis: slow, limit: 100, windowMs: 1000, timeoutMs: 100 });

    const first = limiter.check("busy");
    await sleep(30);
    const queuedAt = performance.now();
    const queued = limiter.check("busy").then(
      () => ({ settledAfter: performance.now() - queuedAt, error: undefined }),
      (error: unknown) => ({ settledAfter: performance.now() - queuedAt, error }),
    );
    expect((await first).allowed).toBe(true); // answered at ~90 ms
    const outcome = await queued; // its own call would answer ~150 ms after it arrived
    expect(outcome.error).toBeInstanceOf(RateLimiterTimeoutError);
    expect(outcome.settledAfter).toBeGreaterThanOrEqual(95);
    expect(outcome.settledAfter).toBeLessThan(145);
  });

  test("rejects invalid configuration", () => {
    const redis = new Redis({ lazyConnect: true });
    expect(() => createRedisRateLimiter({ redis, limit: 0, windowMs: 1000 })).toThrow(RangeError);
    expect(() => createRedisRateLimiter({ redis, limit: 1, windowMs: 1000, timeoutMs: 0 })).toThrow(RangeError);
    redis.disconnect();
  });
});
