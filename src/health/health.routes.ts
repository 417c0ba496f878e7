import { createRoute, z } from "@hono/zod-openapi";

export const ReadinessSchema = z
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

export const livenessRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["Health"],
  summary: "Liveness: the process answers (touches no dependency)",
  responses: {
    200: { description: "Alive", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } },
  },
});

export const readinessRoute = createRoute({
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
