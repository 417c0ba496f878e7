import { describe, expect, test } from "bun:test";
import { createMemoryRateLimiter } from "../../src/ratelimit/memory-limiter";

function manualClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    set: (ms: number) => void (t = ms),
    advance: (ms: number) => void (t += ms),
  };
}

describe("memory rate limiter", () => {
  test("allows exactly `limit` requests, then rejects with remaining counting down", async () => {
    const clock = manualClock();
    const limiter = createMemoryRateLimiter({ limit: 3, windowMs: 1000, now: clock.now });
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const d = await limiter.check("t");
      expect(d.allowed).toBe(true);
      expect(d.retryAfterMs).toBe(0);
      remaining.push(d.remaining);
    }
    expect(remaining).toEqual([2, 1, 0]);
    const rejected = await limiter.check("t");
    expect(rejected).toEqual({ allowed: false, limit: 3, remaining: 0, resetAtMs: 1_001_000, retryAfterMs: 1000 });
  });

  test("empty window: resetAtMs is now + windowMs", async () => {
    const clock = manualClock(5000);
    const limiter = createMemoryRateLimiter({ limit: 2, windowMs: 300, now: clock.now });
    expect((await limiter.check("t")).resetAtMs).toBe(5300);
  });

  test("sliding window: an entry frees its slot exactly at t + windowMs, not before", async () => {
    const clock = manualClock(0);
    const limiter = createMemoryRateLimiter({ limit: 2, windowMs: 1000, now: clock.now });
    await limiter.check("t"); // t=0
    clock.set(400);
    await limiter.check("t"); // t=400

    clock.set(999);
    const beforeEdge = await limiter.check("t");
    expect(beforeEdge.allowed).toBe(false);
    expect(beforeEdge.resetAtMs).toBe(1000);
    expect(beforeEdge.retryAfterMs).toBe(1);

    clock.set(1000); // the t=0 entry leaves exactly now
    const atEdge = await limiter.check("t");
    expect(atEdge.allowed).toBe(true);
    expect(atEdge.remaining).toBe(0);
    expect(atEdge.resetAtMs).toBe(1400); // the oldest counted entry is now t=400

    clock.set(1399);
    expect((await limiter.check("t")).allowed).toBe(false);
    clock.set(1400);
    expect((await limiter.check("t")).allowed).toBe(true);
  });

  test("not a fixed bucket: a burst at the end of one window blocks the start of the next", async () => {
    const clock = manualClock(0);
    const limiter = createMemoryRateLimiter({ limit: 5, windowMs: 1000, now: clock.now });
    clock.set(990);
    for (let i = 0; i < 5; i++) expect((await limiter.check("t")).allowed).toBe(true);
    clock.set(1010); // a fixed 1s bucket would have reset here
    const d = await limiter.check("t");
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBe(980);
  });

  test("rejected requests do not count and do not push the window out", async () => {
    const clock = manualClock(0);
    const limiter = createMemoryRateLimiter({ limit: 1, windowMs: 1000, now: clock.now });
    expect((await limiter.check("t")).allowed).toBe(true);
    for (let ms = 100; ms < 1000; ms += 100) {
      clock.set(ms);
      const d = await limiter.check("t");
      expect(d.allowed).toBe(false);
      expect(d.resetAtMs).toBe(1000);
      expect(d.retryAfterMs).toBe(1000 - ms);
    }
    clock.set(1000);
    expect((await limiter.check("t")).allowed).toBe(true);
  });

  test("retryAfterMs is at least 1 and rounds fractional clocks up", async () => {
    const clock = manualClock(0);
    const limiter = createMemoryRateLimiter({ limit: 1, windowMs: 100, now: clock.now });
    await limiter.check("t");
    clock.set(99.6);
    const d = await limiter.check("t");
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBe(1);
  });

  test("keys are independent", async () => {
    const clock = manualClock();
    const limiter = createMemoryRateLimiter({ limit: 2, windowMs: 1000, now: clock.now });
    await limiter.check("a");
    await limiter.check("a");
    expect((await limiter.check("a")).allowed).toBe(false);
    const b = await limiter.check("b");
    expect(b.allowed).toBe(true);
    expect(b.remaining).toBe(1);
  });

  test("many requests at the same instant all count", async () => {
    const clock = manualClock();
    const limiter = createMemoryRateLimiter({ limit: 10_000, windowMs: 60_000, now: clock.now });
    const decisions = await Promise.all(Array.from({ length: 10_001 }, () => limiter.check("t")));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10_000);
    expect(decisions.at(-2)!.remaining).toBe(0);
    expect(decisions.at(-1)!.allowed).toBe(false);
  });

  test("a large limit stays fast while the window slides continuously", async () => {
    let t = 0;
    const limiter = createMemoryRateLimiter({ limit: 10_000, windowMs: 1000, now: () => t });
    const started = performance.now();
    let allowed = 0;
    for (let i = 0; i < 200_000; i++) {
      t = i * 0.05; // 20 requests per ms: twice the sustainable rate
      if ((await limiter.check("hot")).allowed) allowed++;
    }
    expect(performance.now() - started).toBeLessThan(2000);
    // 10s of traffic at 10k/s allowed: about 100k (exactly, up to the final partial window)
    expect(allowed).toBeGreaterThanOrEqual(100_000);
    expect(allowed).toBeLessThanOrEqual(110_000);
  });

  test("memory stays bounded: idle tenants are dropped after a window", async () => {
    const clock = manualClock(0);
    const limiter = createMemoryRateLimiter({ limit: 5, windowMs: 1000, now: clock.now });
    for (let i = 0; i < 1000; i++) await limiter.check(`tenant-${i}`);
    expect(limiter.trackedKeys()).toBe(1000);
    clock.set(2500);
    await limiter.check("someone-else");
    expect(limiter.trackedKeys()).toBe(1);
  });

  test("a clock stepping backwards does not corrupt the window", async () => {
    const clock = manualClock(10_000);
    const limiter = createMemoryRateLimiter({ limit: 2, windowMs: 1000, now: clock.now });
    await limiter.check("t");
    clock.set(9_000); // NTP step back
    await limiter.check("t");
    expect((await limiter.check("t")).allowed).toBe(false);
    clock.set(11_000);
    expect((await limiter.check("t")).allowed).toBe(true);
  });

  test("rejects invalid configuration", () => {
    expect(() => createMemoryRateLimiter({ limit: 0, windowMs: 1000 })).toThrow(RangeError);
    expect(() => createMemoryRateLimiter({ limit: 1.5, windowMs: 1000 })).toThrow(RangeError);
    expect(() => createMemoryRateLimiter({ limit: 1, windowMs: Number.NaN })).toThrow(RangeError);
  });

  test("reports mode and health", async () => {
    const limiter = createMemoryRateLimiter({ limit: 1, windowMs: 1000 });
    expect(limiter.mode).toBe("memory");
    expect(await limiter.health()).toBe("ok");
  });
});
