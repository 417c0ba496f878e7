/**
 * A Redis outage as users see it: requests keep being answered (never a
 * 500, never slower than the limiter's budget + 100 ms), readiness says
 * "degraded" but stays 200, and shared limiting resumes once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { createLogger } from "../../src/observability/logger";
import { createMetrics } from "../../src/observability/metrics";
import { waitUntilReady } from "../../src/ratelimit";
import { createLimiterFromConfig } from "../../src/ratelimit/from-config";
import { apiKeysEnv, freshTenants, openEmbeddedTestStore, openPostgresTestStore, serviceUrl, testConfig, type StoreHandle } from "../support/harness";
import { freePort } from "../support/server-process";
import { ThrowawayRedis } from "./throwaway-redis";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const available = ThrowawayRedis.isAvailable();
if (!available && process.env.CI) throw new Error("redis-server must be installed in CI");

describe.skipIf(!available)("Redis outage over HTTP (throwaway redis-server)", () => {
  let handle: StoreHandle;
  const redis = new ThrowawayRedis(freePort());
  const closers: (() => unknown)[] = [];

  beforeAll(async () => {
    handle = databaseUrl ? await openPostgresTestStore(databaseUrl) : await openEmbeddedTestStore();
    await redis.start();
  }, 120_000);
  afterAll(async () => {
    for (const close of closers) await close();
    await redis.kill();
    await handle?.cleanup();
  });

  test("SCRIPT FLUSH, freeze and stop Redis mid-traffic, start it again", async () => {
    const tenants = freshTenants();
    const budgetMs = 100;
    const config = testConfig({
      ...apiKeysEnv(tenants),
      REDIS_URL: redis.url,
      RATE_LIMIT_MAX_REQUESTS: "100000",
      RATE_LIMIT_TIMEOUT_MS: String(budgetMs),
    });
    const logger = createLogger({ level: "silent" });
    const metrics = createMetrics({ defaultMetrics: false });
    const { limiter, redis: client } = createLimiterFromConfig(config, logger, () => metrics.limiterFallbacks.inc());
    await waitUntilReady(client!, 2000);
    closers.push(() => client!.disconnect());
    // Times each limiter check: the requirement bounds the wait the limiter adds.
    const checkMs: number[] = [];
    const timed = Object.assign(Object.create(limiter), {
      async check(key: string) {
        const started = performance.now();
        try {
          return await limiter.check(key);
        } finally {
          checkMs.push(performance.now() - started);
        }
      },
    });
    const app = createApp({ config, store: handle.store, limiter: timed, logger, metrics });

    const samples: { status: number; ms: number; limit: string | null; phase: string }[] = [];
    let phase = "up";
    let running = true;
    const workers = Array.from({ length: 4 }, async () => {
      while (running) {
        const started = performance.now();
        const res = await app.request("/query", {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": tenants.a.key },
          body: JSON.stringify({ limit: 1 }),
        });
        samples.push({ status: res.status, ms: performance.now() - started, limit: res.headers.get("x-ratelimit-limit"), phase });
        await res.arrayBuffer();
        await Bun.sleep(5);
      }
    });

    await Bun.sleep(300);
    await client!.script("FLUSH"); // the script cache is empty: the next check reloads it
    await Bun.sleep(300);
    phase = "frozen"; // connections open, nothing answers: only the timeout helps
    redis.freeze();
    await Bun.sleep(700);
    redis.thaw();
    await Bun.sleep(300);
    phase = "down";
    await redis.kill();
    await Bun.sleep(1000);
    const ready = await app.request("/health/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { postgres: "ok", redis: "degraded" } });

    phase = "restarting";
    await redis.start();
    const backAt = performance.now();
    let resumedAfterMs = -1;
    while (performance.now() - backAt < 5000) {
      if ((await limiter.health?.()) === "ok" && limiter.mode === "redis") {
        resumedAfterMs = performance.now() - backAt;
        break;
      }
      await Bun.sleep(50);
    }
    phase = "back";
    await Bun.sleep(500);
    running = false;
    await Promise.all(workers);

    expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    expect(samples.every((s) => s.limit === "100000")).toBe(true);
    const slowest = Math.max(...checkMs);
    expect(checkMs.length).toBe(samples.length);
    expect(slowest).toBeLessThan(budgetMs + 100);
    expect(samples.filter((s) => s.phase === "down").length).toBeGreaterThan(10);
    expect(samples.filter((s) => s.phase === "frozen").length).toBeGreaterThan(4);
    expect(resumedAfterMs).toBeGreaterThanOrEqual(0);
    expect(resumedAfterMs).toBeLessThan(5000);
    const text = await metrics.registry.getSingleMetricAsString("tv_rate_limiter_fallbacks_total");
    expect(Number(text.trim().split(" ").at(-1))).toBeGreaterThan(0);
    console.log(`[redis-outage] ${samples.length} requests, slowest limiter check ${slowest.toFixed(0)} ms, shared limiting back ${resumedAfterMs.toFixed(0)} ms after restart`);
  }, 30_000);
});
