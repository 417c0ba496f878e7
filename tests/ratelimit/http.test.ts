/**
 * Rate limiting as users see it, through app.request() with the real Redis
 * limiter and the real PostgreSQL store.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { createLogger } from "../../src/observability/logger";
import { createLimiterFromConfig } from "../../src/ratelimit/from-config";
import { waitUntilReady } from "../../src/ratelimit";
import { apiKeysEnv, freshTenants, makeEvent, openPostgresTestStore, postJson, serviceUrl, testConfig, type StoreHandle } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const redisUrl = serviceUrl("TEST_REDIS_URL");

describe.skipIf(!databaseUrl || !redisUrl)("rate limiting over HTTP with Redis", () => {
  let handle: StoreHandle;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!);
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await handle.cleanup();
  });

  async function appWithLimit(limit: number, windowMs: number) {
    const tenants = freshTenants();
    const config = testConfig({
      ...apiKeysEnv(tenants),
      REDIS_URL: redisUrl!,
      RATE_LIMIT_MAX_REQUESTS: String(limit),
      RATE_LIMIT_WINDOW_MS: String(windowMs),
    });
    const logger = createLogger({ level: "silent" });
    const { limiter, redis } = createLimiterFromConfig(config, logger);
    await waitUntilReady(redis!, 2000);
    closers.push(() => redis!.quit());
    const app = createApp({ config, store: handle.store, limiter, logger });
    return { app, tenants };
  }

  test("headers count down; over the limit 429 with Retry-After and the handler is not reached", async () => {
    const { app, tenants } = await appWithLimit(3, 60_000);
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      const res = await postJson(app, "/ingest", makeEvent(i), tenants.a.key);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-limit")).toBe("3");
      expect(res.headers.get("x-ratelimit-remaining")).toBe(String(2 - i));
      const reset = Number(res.headers.get("x-ratelimit-reset"));
      expect(reset).toBeGreaterThanOrEqual(Math.floor((started + 60_000) / 1000) - 1);
      expect(reset).toBeLessThanOrEqual(Math.ceil((Date.now() + 60_000) / 1000) + 1);
    }
    const limited = await postJson(app, "/ingest", makeEvent(99), tenants.a.key, { "x-request-id": "rl-1" });
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(await limited.json()).toEqual({
      error: { code: "rate_limited", message: expect.stringContaining("Rate limit") },
      requestId: "rl-1",
    });
    // The handler never ran: event 99 is not stored.
    const [row] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenants.a.tenant}`;
    expect(row!.n).toBe(3);

    // Another tenant has its own window; open paths are not limited.
    expect((await postJson(app, "/query", {}, tenants.b.key)).status).toBe(200);
    const health = await app.request("/health");
    expect(health.status).toBe(200);
    expect(health.headers.get("x-ratelimit-limit")).toBeNull();
  });

  test("a true sliding window; rejected requests do not push it out", async () => {
    const { app, tenants } = await appWithLimit(2, 1000);
    const status = async () => (await postJson(app, "/query", {}, tenants.a.key)).status;
    expect(await status()).toBe(200);
    await Bun.sleep(500);
    expect(await status()).toBe(200);
    expect(await status()).toBe(429); // rejected: not counted
    await Bun.sleep(600); // the first request has left the window, the second has not
    expect(await status()).toBe(200);
    expect(await status()).toBe(429);
  });

  test("401s are not counted and never reach the limiter", async () => {
    const { app, tenants } = await appWithLimit(1, 60_000);
    for (let i = 0; i < 5; i++) expect((await postJson(app, "/query", {}, "wrong-key")).status).toBe(401);
    expect((await postJson(app, "/query", {}, tenants.a.key)).status).toBe(200);
  });
});
