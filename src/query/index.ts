import { createRouter, serveDocumented } from "../http/router";
import { handleQuery } from "./query.handlers";
import { queryRoute } from "./query.routes";

/** POST /query: lists, counts and time buckets of the tenant's events. */
export function createQueryRouter() {
  const router = createRouter();
  serveDocumented(router, queryRoute, handleQuery);
  return router;
}
