import { afterAll, describe, expect, test } from "bun:test";
import type { Redis } from "ioredis";
import { createMemoryRateLimiter } from "../../src/ratelimit/memory-limiter";
import type { RateLimitDecision, RateLimiter } from "../../src/ratelimit/rate-limiter";
import { createRedisClient, waitUntilReady } from "../../src/ratelimit/redis-client";
import { createRedisRateLimiter } from "../../src/ratelimit/redis-limiter";
import { createResilientRateLimiter } from "../../src/ratelimit/resilient-limiter";
import { sleep } from "./redis-test-env";
import { freePort } from "../support/server-process";
import { ThrowawayRedis } from "./throwaway-redis";

function captureLogger() {
  const warn: Array<{ obj: object; msg?: string }> = [];
  const info: Array<{ obj: object; msg?: string }> = [];
  return {
    warn,
    info,
    logger: {
      warn: (obj: object, msg?: string) => void warn.push({ obj, msg }),
      info: (obj: object, msg?: string) => void info.push({ obj, msg }),
    },
  };
}

const PRIMARY_DECISION: RateLimitDecision = { allowed: true, limit: 10, remaining: 9, resetAtMs: 0, retryAfterMs: 0 };

/** A primary whose availability the test switches; can also hold calls open to observe concurrency. */
function fakePrimary() {
  const state = { failing: false, calls: 0, healthy: true as boolean };
  const primary: RateLimiter = {
    mode: "redis",
    async check() {
      state.calls++;
      if (state.failing) throw new Error("connection refused");
      return PRIMARY_DECISION;
    },
    health: async () => (state.healthy ? "ok" : "degraded"),
  };
  return { state, primary };
}

describe("resilient limiter (fake primary, injected clock)", () => {
  function setup(overrides: { warnIntervalMs?: number; retryPrimaryAfterMs?: number } = {}) {
    let t = 0;
    const { state, primary } = fakePrimary();
    const log = captureLogger();
    let fallbacks = 0;
    const limiter = createResilientRateLimiter({
      primary,
      fallback: createMemoryRateLimiter({ limit: 2, windowMs: 1000, now: () => t }),
      logger: log.logger,
      warnIntervalMs: overrides.warnIntervalMs ?? 10_000,
      retryPrimaryAfterMs: overrides.retryPrimaryAfterMs ?? 500,
      onFallback: () => void fallbacks++,
      now: () => t,
    });
    return { limiter, state, log, fallbacks: () => fallbacks, setTime: (ms: number) => void (t = ms) };
  }

  test("uses the primary while it answers", async () => {
    const { limiter, state, log, fallbacks } = setup();
    expect(await limiter.check("a")).toEqual(PRIMARY_DECISION);
    expect(limiter.mode).toBe("redis");
    expect(await limiter.health()).toBe("ok");
    expect(state.calls).toBe(1);
    expect(fallbacks()).toBe(0);
    expect(log.warn).toHaveLength(0);
  });

  test("with no requests to probe it, health finds a recovered primary once the retry time passed, and the circuit closes", async () => {
    const { limiter, state, setTime } = setup();
    state.failing = true;
    state.healthy = false;
    await limiter.check("a");
    expect(await limiter.health()).toBe("degraded");
    state.failing = false;
    state.healthy = true;
    expect(await limiter.health()).toBe("degraded"); // before the retry time
    setTime(600);
    expect(await limiter.health()).toBe("ok");
    expect(limiter.mode).toBe("redis");
    expect(await limiter.check("a")).toEqual(PRIMARY_DECISION);
  });

  test("on failure answers from the fallback, counts it, warns, and reports degraded", async () => {
    const { limiter, state, log, fallbacks } = setup();
    state.failing = true;
    const d = await limiter.check("a");
    expect(d).toMatchObject({ allowed: true, limit: 2, remaining: 1 }); // the memory limiter's answer
    expect(limiter.mode).toBe("memory-fallback");
    expect(fallbacks()).toBe(1);
    expect(log.warn).toHaveLength(1);
    expect(log.warn[0]!.obj).toMatchObject({ err: "connection refused" });
    expect(await limiter.health()).toBe("degraded");
  });

  test("circuit breaker: skips the primary until the retry time, then sends exactly one probe", async () => {
    const { limiter, state, setTime } = setup({ retryPrimaryAfterMs: 500 });
    state.failing = true;
    await limiter.check("a"); // t=0: fails, circuit opens until 500
    expect(state.calls).toBe(1);
    setTime(499);
    await Promise.all([limiter.check("a"), limiter.check("b")]);
    expect(state.calls).toBe(1);

    setTime(500);
    await Promise.all(Array.from({ length: 20 }, () => limiter.check("c")));
    expect(state.calls).toBe(2); // one probe, the other 19 went straight to the fallback

    state.failing = false;
    setTime(999); // the failed probe re-opened the circuit until 1000
    await limiter.check("a");
    expect(state.calls).toBe(2);
    expect(limiter.mode).toBe("memory-fallback");

    setTime(1000);
    expect(await limiter.check("a")).toEqual(PRIMARY_DECISION);
    expect(limiter.mode).toBe("redis");
    await Promise.all(Array.from({ length: 5 }, () => limiter.check("a")));
    expect(state.calls).toBe(8); // closed again: everyone uses the primary
    expect(await limiter.health()).toBe("ok");
  });

  test("at most one warning per interval, one info on recovery", async () => {
    const { limiter, state, log, fallbacks, setTime } = setup({ warnIntervalMs: 10_000, retryPrimaryAfterMs: 100 });
    state.failing = true;
    for (let ms = 0; ms < 25_000; ms += 50) {
      setTime(ms);
      await limiter.check("a");
    }
    expect(fallbacks()).toBe(500);
    expect(log.warn).toHaveLength(3); // t=0, t=10000, t=20000
    expect(log.warn[1]!.obj).toMatchObject({ fallbackChecksSinceLastWarning: 200 });
    expect(log.info).toHaveLength(0);

    state.failing = false;
    setTime(25_100);
    await limiter.check("a");
    setTime(25_200);
    await limiter.check("a");
    expect(log.info).toHaveLength(1);
    expect(log.info[0]!.obj).toMatchObject({ outageMs: 25_100, fallbackChecks: 500 });
  });

  test("a flap inside an already-warned interval stays quiet", async () => {
    const { limiter, state, log, setTime } = setup({ warnIntervalMs: 10_000, retryPrimaryAfterMs: 100 });
    state.failing = true;
    await limiter.check("a"); // warn #1
    state.failing = false;
    setTime(200);
    await limiter.check("a"); // recovered, info #1
    state.failing = true;
    setTime(300);
    await limiter.check("a"); // second outage 300 ms after the warning: suppressed
    state.failing = false;
    setTime(500);
    await limiter.check("a"); // its recovery is not announced either
    expect(log.warn).toHaveLength(1);
    expect(log.info).toHaveLength(1);
  });

  test("health reflects the primary's own health when no check has failed yet", async () => {
    const { limiter, state } = setup();
    state.healthy = false;
    expect(await limiter.health()).toBe("degraded");
  });

  test("a throwing onFallback hook does not fail the request", async () => {
    const { state, primary } = fakePrimary();
    state.failing = true;
    const limiter = createResilientRateLimiter({
      primary,
      fallback: createMemoryRateLimiter({ limit: 1, windowMs: 1000 }),
      logger: captureLogger().logger,
      onFallback: () => {
        throw new Error("metrics broke");
      },
    });
    expect((await limiter.check("a")).allowed).toBe(true);
  });
});

const redisServerAvailable = ThrowawayRedis.isAvailable();
if (!redisServerAvailable) {
  if (process.env.CI === "true") {
    test("redis-server binary must be installed when CI=true", () => {
      throw new Error("redis-server not found on PATH; the resilient limiter outage test needs it");
    });
  } else {
    console.warn("[resilient-limiter] outage test skipped: redis-server not found on PATH");
  }
}

describe.skipIf(!redisServerAvailable)("resilient limiter over a throwaway redis-server", () => {
  const TIMEOUT_MS = 100;
  const server = new ThrowawayRedis(freePort());
  let client: Redis | undefined;

  afterAll(async () => {
    client?.disconnect();
    await server.kill(); // SIGKILL also ends a frozen (SIGSTOPped) server
  });

  /** Runs checks from several concurrent callers until stopped; records every outcome. */
  function startTraffic(limiter: RateLimiter) {
    const samples: Array<{ ms: number; mode: string | undefined }> = [];
    const errors: unknown[] = [];
    let running = true;
    const worker = async (id: number) => {
      while (running) {
        const started = performance.now();
        try {
          await limiter.check(`tenant-${id % 3}`);
          samples.push({ ms: performance.now() - started, mode: limiter.mode });
        } catch (err) {
          errors.push(err);
        }
        await sleep(5);
      }
    };
    const workers = Promise.all(Array.from({ length: 8 }, (_, i) => worker(i)));
    return {
      samples,
      errors,
      /** Samples recorded from now on. */
      mark: () => samples.length,
      stop: async () => {
        running = false;
        await workers;
      },
    };
  }

  async function waitForMode(limiter: RateLimiter, mode: string, withinMs: number): Promise<number> {
    const started = performance.now();
    while (limiter.mode !== mode) {
      if (performance.now() - started > withinMs) throw new Error(`mode still ${limiter.mode} after ${withinMs} ms`);
      await sleep(10);
    }
    return performance.now() - started;
  }

  test(
    "crash and freeze: every check answers in time from memory; redis resumes by itself",
    async () => {
      await server.start();
      const clientLog = captureLogger();
      client = createRedisClient(server.url, { commandTimeoutMs: TIMEOUT_MS + 50, logger: clientLog.logger });
      expect(await waitUntilReady(client, 3000)).toBe(true);

      const log = captureLogger();
      let fallbacks = 0;
      const limiter = createResilientRateLimiter({
        primary: createRedisRateLimiter({ redis: client, limit: 100_000, windowMs: 60_000, timeoutMs: TIMEOUT_MS, keyPrefix: "tv:rl:outage:" }),
        fallback: createMemoryRateLimiter({ limit: 100_000, windowMs: 60_000 }),
        logger: log.logger,
        warnIntervalMs: 60_000,
        onFallback: () => void fallbacks++,
      });
      const traffic = startTraffic(limiter);
      const maxLatency = (from: number) => Math.max(...traffic.samples.slice(from).map((s) => s.ms));

      await sleep(200);
      expect(limiter.mode).toBe("redis");
      expect(fallbacks).toBe(0);

      // Freeze: the socket stays open and nothing answers, so only the timeout protects callers.
      server.freeze();
      let from = traffic.mark();
      await waitForMode(limiter, "memory-fallback", 1000);
      await sleep(800);
      expect(await limiter.health()).toBe("degraded");
      expect(maxLatency(from)).toBeLessThanOrEqual(TIMEOUT_MS + 100);
      server.thaw();
      await waitForMode(limiter, "redis", 5000);

      // Crash: the connection drops; restart on the same port.
      from = traffic.mark();
      const fallbacksBeforeCrash = fallbacks;
      await server.kill();
      await waitForMode(limiter, "memory-fallback", 1000);
      await sleep(800);
      expect(fallbacks).toBeGreaterThan(fallbacksBeforeCrash);
      expect(maxLatency(from)).toBeLessThanOrEqual(TIMEOUT_MS + 100);
      expect(await limiter.health()).toBe("degraded");

      await server.start();
      const recoveredAfterMs = await waitForMode(limiter, "redis", 5000);
      from = traffic.mark();
      await sleep(200);
      await traffic.stop();

      expect(traffic.errors).toEqual([]);
      expect(recoveredAfterMs).toBeLessThan(5000);
      expect(traffic.samples.slice(from).every((s) => s.mode === "redis")).toBe(true);
      expect(await limiter.health()).toBe("ok");
      // Two outages within one warning interval: a single warning, and the one announced outage's recovery.
      expect(log.warn).toHaveLength(1);
      expect(log.info).toHaveLength(1);
      // The client's own connection-error log is throttled too.
      expect(clientLog.warn.length).toBeLessThanOrEqual(1);
      expect(traffic.samples.length).toBeGreaterThan(100);
    },
    15_000,
  );
});
