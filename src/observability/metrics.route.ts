import { timingSafeEqual, createHash } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../http/api-error";
import { createRouter } from "../http/router";

const metricsRoute = createRoute({
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

const sha256 = (text: string) => createHash("sha256").update(text).digest();

export function createMetricsRouter() {
  const router = createRouter();
  router.openapi(metricsRoute, async (c) => {
    const { metrics, config } = c.get("deps");
    if (config.METRICS_TOKEN) {
      const presented = (c.req.header("authorization") ?? "").replace(/^Bearer\s+/i, "");
      if (!timingSafeEqual(sha256(presented), sha256(config.METRICS_TOKEN))) {
        throw new ApiError("unauthorized", "A valid metrics bearer token is required");
      }
    }
    if (!metrics) return c.text("", 200);
    return c.text(await metrics.registry.metrics(), 200, { "Content-Type": metrics.registry.contentType });
  });
  return router;
}
