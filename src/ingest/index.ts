import { createRouter, serveDocumented } from "../http/router";
import { handleIngest } from "./ingest.handlers";
import { ingestRoute } from "./ingest.routes";

/** POST /ingest: one event, a JSON array or NDJSON, maybe gzip, stored all or nothing. */
export function createIngestRouter() {
  const router = createRouter();
  serveDocumented(router, ingestRoute, handleIngest);
  return router;
}
