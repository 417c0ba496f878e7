import { createRouter, serveDocumented } from "../http/router";
import { handleQuery } from "./query.handlers";
import { queryRoute, traceRoute } from "./query.routes";
import { handleTrace } from "./trace.handlers";

/** POST /query: lists, counts and time buckets of the tenant's events; GET /traces/{traceId}: one trace's. */
export function createQueryRouter() {
  const router = createRouter();
  serveDocumented(router, queryRoute, handleQuery);
  router.openapi(traceRoute, (c) => handleTrace(c, c.req.valid("param"), c.req.valid("query")));
  return router;
}
