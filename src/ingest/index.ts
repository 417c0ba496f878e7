import { createRouter } from "../http/router";
import { ingestEvents } from "./ingest.handlers";
import { ingestRoute } from "./ingest.routes";

export function createIngestRouter() {
  const router = createRouter();
  // Documented through the registry but served by a plain handler: the body
  // may be gzip or NDJSON, which the generic JSON validator cannot read.
  router.openAPIRegistry.registerPath(ingestRoute);
  router.post(ingestRoute.path, ingestEvents);
  return router;
}
