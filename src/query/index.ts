import { createRouter } from "../http/router";
import { queryEvents } from "./query.handlers";
import { queryRoute } from "./query.routes";

export function createQueryRouter() {
  const router = createRouter();
  // Documented through the registry, served by a plain handler that reads
  // the body itself (http/json-body): absent bodies and wrong content types
  // are answered like every other JSON body, never skipped past validation.
  router.openAPIRegistry.registerPath(queryRoute);
  router.post(queryRoute.path, queryEvents);
  return router;
}
