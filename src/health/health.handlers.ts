import type { Context } from "hono";
import type { AppEnv } from "../http/context";

const DEPENDENCY_TIMEOUT_MS = 1000;

export function handleLiveness(c: Context<AppEnv>) {
  return c.json({ status: "ok" as const }, 200);
}

export async function handleReadiness(c: Context<AppEnv>) {
  const { store, limiter, isShuttingDown, config } = c.get("deps");
  const [postgres, redis] = await Promise.all([
    settleWithin(store.ping(), DEPENDENCY_TIMEOUT_MS).then(() => "ok" as const, () => "down" as const),
    config.REDIS_URL && limiter.health
      ? settleWithin(limiter.health(), DEPENDENCY_TIMEOUT_MS).then((state) => (state === "ok" ? "ok" as const : "degraded" as const), () => "degraded" as const)
      : ("disabled" as const),
  ]);
  const shutdown = isShuttingDown?.() ? ("draining" as const) : ("no" as const);
  const ready = postgres === "ok" && shutdown === "no";
  const body = { status: ready ? ("ok" as const) : ("unavailable" as const), store: store.kind, checks: { postgres, redis, shutdown } };
  if (!ready) c.header("Retry-After", "1");
  return ready ? c.json(body, 200) : c.json(body, 503);
}

/** `promise`, or a rejection once `ms` have passed: a hung dependency reads as down, not as a hung probe. */
async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
