import { Redis } from "ioredis";

/** Leaves the shared Redis as it was: deletes the live-tail keys of the tenants a test used. */
export async function deleteTailKeys(redisUrl: string, tenants: Iterable<string>) {
  const redis = new Redis(redisUrl);
  try {
    for (const tenant of tenants) {
      const keys = await redis.keys(`tv:tail:{${tenant}}:*`);
      if (keys.length) await redis.del(...keys);
    }
  } finally {
    redis.disconnect();
  }
}
