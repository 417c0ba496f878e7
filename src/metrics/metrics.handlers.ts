import type { Context } from "hono";
import type { AppEnv } from "../http/context";

export async function handleMetrics(c: Context<AppEnv>) {
  const { metrics } = c.get("deps");
  if (!metrics) return c.text("", 200);
  return c.text(await metrics.registry.metrics(), 200, { "Content-Type": metrics.registry.contentType });
}
