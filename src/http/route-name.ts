import type { Context } from "hono";
import { routePath } from "hono/route";

/** The route pattern that answered (e.g. "/ingest"), never the raw path, so log fields and metric labels stay few. */
export function matchedRoute(c: Context): string {
  const path = routePath(c, -1);
  return !path || path === "*" || path.endsWith("/*") ? "unmatched" : path;
}
