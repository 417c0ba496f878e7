import { randomUUID } from "node:crypto";
import { test } from "bun:test";
import type { Redis } from "ioredis";

/**
 * Resolves the Redis used by integration tests.
 * Locally a missing TEST_REDIS_URL skips (with a visible reason); in CI it is
 * a configuration error and must fail rather than silently pass.
 */
export function resolveTestRedisUrl(suite: string): string | undefined {
  const url = process.env.TEST_REDIS_URL;
  if (url) return url;
  if (process.env.CI === "true") {
    test(`${suite}: TEST_REDIS_URL must be set when CI=true`, () => {
      throw new Error("TEST_REDIS_URL is not set; CI must provide a Redis for the rate limiter tests");
    });
  } else {
    console.warn(`[${suite}] skipped: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run against a real Redis`);
  }
  return undefined;
}

/** A key prefix no other run (or other engineer) uses, so cleanup can't touch foreign keys. */
export function uniqueKeyPrefix(): string {
  return `tv:rl:test:${randomUUID()}:`;
}

export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
