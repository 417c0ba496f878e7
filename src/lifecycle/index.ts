import { createRouter, serveDocumented } from "../http/router";
import { handleDelete, handleUsage } from "./lifecycle.handlers";
import { deleteRoute, usageRoute } from "./lifecycle.routes";

/** POST /delete and GET /usage: a tenant's data lifecycle. */
export function createLifecycleRouter() {
  const router = createRouter();
  serveDocumented(router, deleteRoute, handleDelete);
  router.openapi(usageRoute, (c) => handleUsage(c, c.req.valid("query")));
  return router;
}
