import { createRoute, z } from "@hono/zod-openapi";

export const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["Operations"],
  summary: "Prometheus metrics (text exposition format)",
  description:
    "With METRICS_TOKEN set, send `Authorization: Bearer <token>`. Without it: open in development, closed (401) when " +
    "NODE_ENV=production, since the metrics name tenants.",
  responses: {
    200: { description: "Metrics", content: { "text/plain": { schema: z.string() } } },
    401: { description: "The bearer token is missing or wrong, or production without METRICS_TOKEN" },
  },
});
