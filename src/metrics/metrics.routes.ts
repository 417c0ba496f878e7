import { createRoute, z } from "@hono/zod-openapi";

export const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["Operations"],
  summary: "Prometheus metrics (text exposition format)",
  description: "Open like /health, unless METRICS_TOKEN is set: then send `Authorization: Bearer <token>`.",
  responses: {
    200: { description: "Metrics", content: { "text/plain": { schema: z.string() } } },
    401: { description: "METRICS_TOKEN is set and the bearer token is missing or wrong" },
  },
});
