import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../http/router";

const DEPENDENCY_TIMEOUT_MS = 1000;

const ReadinessSchema = z
  .object({
    status: z.enum(["ok", "unavailable"]),
    store: z.string().openapi({ description: "postgres or embedded" }),
    checks: z.object({
      postgres: z.enum(["ok", "down"]),
      redis: z.enum(["ok", "degraded", "disabled"]),
      shutdown: z.enum(["no", "draining"]),
    }),
  })
  .openapi("Readiness");

const livenessRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["Health"],
  summary: "Liveness: the process answers (touches no dependency)",
  responses: {
    200: { description: "Alive", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } },
  },
});

const readinessRoute = createRoute({
  method: "get",
  path: "/health/ready",
  tags: ["Health"],
  summary: "Readiness: storage answers and the process is not shutting down",
  description: "PostgreSQL is required; Redis is not (a failing Redis shows as degraded and the limiter works in-process).",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: ReadinessSchema } } },
    503: { description: "Not ready; `checks` names the failed dependency", content: { "application/json": { schema: ReadinessSchema } } },
  },
});

async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createHealthRouter() {
  const router = createRouter();

  router.openapi(livenessRoute, (c) => c.json({ status: "ok" as const }, 200));

  router.openapi(readinessRoute, async (c) => {
    const { store, limiter, isShuttingDown, config } = c.get("deps");
    const [postgres, redis] = await Promise.all([
      within(store.ping(), DEPENDENCY_TIMEOUT_MS).then(() => "ok" as const, () => "down" as const),
      config.REDIS_URL && limiter.health
        ? within(limiter.health(), DEPENDENCY_TIMEOUT_MS).then((state) => (state === "ok" ? "ok" as const : "degraded" as const), () => "degraded" as const)
        : ("disabled" as const),
    ]);
    const shutdown = isShuttingDown?.() ? ("draining" as const) : ("no" as const);
    const ready = postgres === "ok" && shutdown === "no";
    const body = { status: ready ? ("ok" as const) : ("unavailable" as const), store: store.kind, checks: { postgres, redis, shutdown } };
    if (!ready) c.header("Retry-After", "1");
    return ready ? c.json(body, 200) : c.json(body, 503);
  });

  return router;
}
