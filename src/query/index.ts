import { createRouter } from "../http/router";
import { queryEvents } from "./query.handlers";
import { queryRoute } from "./query.routes";

export function createQueryRouter() {
  const router = createRouter();
  router.openapi(queryRoute, (c) => queryEvents(c, c.req.valid("json")));
  return router;
}
